/*
 * Greedy generation through the C API, checked against llama.cpp's golden ids.
 *
 *   main MODEL.gguf
 *
 * MODEL is the tiny GQA fixture tests/data/gguf/phi3-tiny-gqa-q4_0.gguf (random weights,
 * vocabulary 1024): its case c0 (tests/data/logits/phi3-tiny-gqa-q4_0/cases.txt) gives the
 * prompt ids and llama.cpp's 16 greedy ids. The program prints the ids it generates and exits
 * with 1 when they differ from the golden ones (2 on any other error).
 *
 * Firmware style: every buffer is static (.bss), no allocation anywhere. On a board the model
 * bytes would be in flash; here they are read from the file into an aligned static buffer.
 * scripts/c-example builds this with gcc (host) and aarch64-linux-gnu-gcc (run under qemu).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "phi3.h"

#define MODEL_CAP (4u << 20)   /* bytes for the GGUF file */
#define ARENA_CAP (1u << 20)   /* the session arena */
#define TOK_CAP (256u << 10)   /* the tokenizer's tables */
#define SCRATCH_CAP (64u << 10) /* phi3_generate's scratch */

static _Alignas(64) uint8_t model_bytes[MODEL_CAP];
static _Alignas(PHI3_ARENA_ALIGN) uint8_t arena[ARENA_CAP];
static uint8_t tok_buf[TOK_CAP];
static uint8_t scratch[SCRATCH_CAP];

static phi3_model model;
static phi3_session session;
static phi3_tokenizer tok;
static phi3_sampler sampler;

static const uint32_t prompt[25] = {1,   545, 571, 738, 1007, 918, 335, 261, 307,
                                    846, 494, 907, 321, 143,  70,  649, 378, 577,
                                    261, 25,  869, 647, 519,  714, 857};
static const uint32_t golden[16] = {1,   104, 540, 726, 615, 109, 922, 922,
                                    922, 665, 270, 290, 989, 570, 989, 570};

struct collected {
    uint32_t ids[64];
    size_t n;
    size_t text_bytes;
};

/* Called for every generated token (and once more, with PHI3_NO_TOKEN, for held-back text). */
static int32_t on_piece(void *user, uint32_t token, const char *text, size_t len) {
    struct collected *c = user;
    (void)text;
    if (token != PHI3_NO_TOKEN && c->n < sizeof c->ids / sizeof c->ids[0]) {
        c->ids[c->n++] = token;
    }
    c->text_bytes += len;
    return 0; /* continue */
}

#define CHECK(call)                                                                    \
    do {                                                                               \
        phi3_status s_ = (call);                                                       \
        if (s_ != PHI3_OK) {                                                           \
            fprintf(stderr, "%s: error %d: %s\n", #call, (int)s_, phi3_error_message(s_)); \
            return 2;                                                                  \
        }                                                                              \
    } while (0)

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MODEL.gguf\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    size_t len = fread(model_bytes, 1, MODEL_CAP, f);
    int too_big = !feof(f);
    fclose(f);
    if (too_big) {
        fprintf(stderr, "%s: larger than %u bytes\n", argv[1], MODEL_CAP);
        return 2;
    }

    /* Errors are codes with messages, never crashes: a null handle, an unbound model. */
    if (phi3_model_init(NULL, model_bytes, len) != PHI3_ERR_NULL_POINTER ||
        phi3_session_len(&session, &(size_t){0}) != PHI3_ERR_NOT_INITIALIZED) {
        fprintf(stderr, "argument checks did not answer their codes\n");
        return 2;
    }

    CHECK(phi3_model_init(&model, model_bytes, len));
    phi3_model_info info;
    CHECK(phi3_model_get_info(&model, &info));

    phi3_limits limits = {.max_context = 64, .max_batch = 8, .workers = 1};
    size_t arena_bytes = 0;
    CHECK(phi3_arena_size(&model, &limits, &arena_bytes));
    if (arena_bytes > ARENA_CAP) {
        fprintf(stderr, "the arena needs %zu bytes, ARENA_CAP is %u\n", arena_bytes, ARENA_CAP);
        return 2;
    }
    CHECK(phi3_session_init(&session, &model, arena, arena_bytes, &limits));

    size_t tok_bytes = 0;
    CHECK(phi3_tokenizer_size(&model, 64, &tok_bytes));
    if (tok_bytes > TOK_CAP) {
        fprintf(stderr, "the tokenizer needs %zu bytes, TOK_CAP is %u\n", tok_bytes, TOK_CAP);
        return 2;
    }
    CHECK(phi3_tokenizer_init(&tok, &model, tok_buf, tok_bytes, 64));

    /* Tokenize a text (shown, not checked: the fixture's vocabulary is synthetic). */
    const char *text = "hello world";
    uint32_t text_ids[64];
    size_t n_text = 0;
    CHECK(phi3_tokenize(&tok, text, strlen(text), PHI3_TOKENIZE_ADD_SPECIAL | PHI3_TOKENIZE_PARSE_SPECIAL,
                        text_ids, sizeof text_ids / sizeof text_ids[0], &n_text));

    phi3_sampler_config sc;
    CHECK(phi3_sampler_config_greedy(&sc));
    CHECK(phi3_sampler_init(&sampler, &sc));

    phi3_generate_config gc;
    CHECK(phi3_generate_config_default(&gc));
    gc.max_tokens = 16;
    size_t scratch_bytes = 0;
    CHECK(phi3_generate_scratch_size(&model, &tok, &gc, &scratch_bytes));
    if (scratch_bytes > SCRATCH_CAP) {
        fprintf(stderr, "generation needs %zu bytes of scratch, SCRATCH_CAP is %u\n", scratch_bytes,
                SCRATCH_CAP);
        return 2;
    }

    struct collected out = {.n = 0, .text_bytes = 0};
    phi3_generate_stats stats;
    CHECK(phi3_generate(&session, &tok, &sampler, prompt, sizeof prompt / sizeof prompt[0], &gc,
                        scratch, scratch_bytes, on_piece, &out, &stats));

    printf("model: %zu bytes, n_vocab %zu, %zu layers; arena %zu bytes, tokenizer %zu bytes, "
           "scratch %zu bytes; handles %u + %u + %u + %u bytes\n",
           len, info.n_vocab, info.n_layer, arena_bytes, tok_bytes, scratch_bytes,
           (unsigned)sizeof model, (unsigned)sizeof session, (unsigned)sizeof tok,
           (unsigned)sizeof sampler);
    printf("\"%s\" -> %zu ids\n", text, n_text);
    printf("ids:");
    for (size_t i = 0; i < out.n; i++) {
        printf(" %u", (unsigned)out.ids[i]);
    }
    printf("\n%zu prompt tokens, %zu generated, %zu text bytes, stop reason %u\n",
           stats.prompt_tokens, stats.generated, out.text_bytes, (unsigned)stats.stop_reason);

    size_t n_golden = sizeof golden / sizeof golden[0];
    if (out.n != n_golden || memcmp(out.ids, golden, sizeof golden) != 0) {
        printf("MISMATCH: golden ids:");
        for (size_t i = 0; i < n_golden; i++) {
            printf(" %u", (unsigned)golden[i]);
        }
        printf("\n");
        return 1;
    }
    printf("OK: the %zu ids equal llama.cpp's golden greedy ids\n", n_golden);
    return 0;
}
