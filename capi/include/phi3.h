/*
 * phi3.h: the C interface of phi3-kernels (Rust crate phi3-capi, capi/ in the repository).
 *
 * Runs Phi-3 family and llama-arch GGUF models on the CPU with no allocation at all: every
 * byte of memory is the caller's. Link libphi3_capi.a (static; firmware too) or
 * libphi3_capi.so. Hand-written; capi/tests/header.rs fails when it and the Rust code differ
 * (sizes, alignments, constants, struct fields, function signatures).
 *
 * Memory and lifetimes
 *   - Handles (phi3_model, phi3_session, phi3_tokenizer, phi3_sampler) are plain structs of
 *     PHI3_*_SIZE bytes aligned to PHI3_*_ALIGN: declare them (static, stack, inside your own
 *     structs) and initialise them with their phi3_*_init function. A zero-filled handle is
 *     "not initialised" (PHI3_ERR_NOT_INITIALIZED); on failure an init function leaves its
 *     handle not initialised. No handle owns anything: there is nothing to free.
 *   - A model borrows the GGUF bytes; a session borrows its model handle and arena; a tokenizer
 *     borrows its model handle and buffer. The borrowed memory must stay valid, unchanged and
 *     in place while the borrower is used (re-initialising a model invalidates its sessions
 *     and tokenizers).
 *   - Handles are not thread-safe: use one handle from one thread at a time. Buffers passed to
 *     one call must not overlap.
 *
 * Errors: every function returning phi3_status returns PHI3_OK (0) or a PHI3_ERR_* code;
 * phi3_error_message(code) gives a static English message. Null pointers, misaligned pointers,
 * lengths over PTRDIFF_MAX and invalid UTF-8 are reported as codes. A null pointer with a
 * length of 0 is an empty array. Nothing panics or aborts on bad input.
 *
 * Texts are (pointer, length) pairs of UTF-8, not NUL-terminated (phi3_error_message's result
 * is the only NUL-terminated string).
 *
 * Threads: the C API runs the model on the calling thread (set phi3_limits.workers to 1).
 * CPU kernels: with the default `std` feature chosen at run time (AVX2 / AVX-512 / NEON / SVE);
 * in a no_std build from the compile-time target features.
 */
#ifndef PHI3_H
#define PHI3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Handles: sizes and alignments (bytes) ------------------------------------------------ */

#ifdef __cplusplus
#define PHI3_ALIGNAS(n) alignas(n)
#else
#define PHI3_ALIGNAS(n) _Alignas(n)
#endif

#if UINTPTR_MAX > 0xFFFFFFFFu
#define PHI3_MODEL_SIZE 32768
#define PHI3_SESSION_SIZE 1024
#define PHI3_TOKENIZER_SIZE 2048
#define PHI3_SAMPLER_SIZE 128
#else
#define PHI3_MODEL_SIZE 16384
#define PHI3_SESSION_SIZE 512
#define PHI3_TOKENIZER_SIZE 2048
#define PHI3_SAMPLER_SIZE 128
#endif
#define PHI3_MODEL_ALIGN 8
#define PHI3_SESSION_ALIGN 8
#define PHI3_TOKENIZER_ALIGN 8
#define PHI3_SAMPLER_ALIGN 8

/* A parsed GGUF file with its weights bound. */
typedef struct phi3_model {
    PHI3_ALIGNAS(PHI3_MODEL_ALIGN) unsigned char opaque[PHI3_MODEL_SIZE];
} phi3_model;
/* One token sequence (KV cache and activations in the caller's arena). */
typedef struct phi3_session {
    PHI3_ALIGNAS(PHI3_SESSION_ALIGN) unsigned char opaque[PHI3_SESSION_SIZE];
} phi3_session;
/* A tokenizer (its tables in the caller's buffer). */
typedef struct phi3_tokenizer {
    PHI3_ALIGNAS(PHI3_TOKENIZER_ALIGN) unsigned char opaque[PHI3_TOKENIZER_SIZE];
} phi3_tokenizer;
/* Sampler settings and RNG state. */
typedef struct phi3_sampler {
    PHI3_ALIGNAS(PHI3_SAMPLER_ALIGN) unsigned char opaque[PHI3_SAMPLER_SIZE];
} phi3_sampler;

/* ---- Other constants ------------------------------------------------------------------------ */

/* The session arena must start at a multiple of this. */
#define PHI3_ARENA_ALIGN 64
/* Most stop strings one phi3_generate call takes. */
#define PHI3_MAX_STOP_STRINGS 8
/* The token of phi3_generate's final callback (text that was held back). */
#define PHI3_NO_TOKEN 0xFFFFFFFFu

/* phi3_tokenize flags */
#define PHI3_TOKENIZE_ADD_SPECIAL 1u   /* add BOS (and EOS) as the vocabulary says */
#define PHI3_TOKENIZE_PARSE_SPECIAL 2u /* match control tokens (<|user|> ...) in the text */
/* phi3_detokenize flags */
#define PHI3_DETOKENIZE_REMOVE_SPECIAL 1u /* drop a leading BOS / trailing EOS the vocab adds */
#define PHI3_DETOKENIZE_RENDER_SPECIAL 2u /* write control tokens' text */

/* phi3_generate_stats.stop_reason */
#define PHI3_STOP_MAX_TOKENS 0u   /* max_tokens sampled */
#define PHI3_STOP_TOKEN 1u        /* a stop token (EOS, <|end|> ...); stop_detail = its id */
#define PHI3_STOP_STRING 2u       /* a stop string; stop_detail = its index */
#define PHI3_STOP_CONTEXT_FULL 3u /* the session holds max_context positions */
#define PHI3_STOP_CANCELLED 4u    /* the callback returned non-zero */

/* ---- Status codes --------------------------------------------------------------------------- */

typedef int32_t phi3_status;

#define PHI3_OK 0
#define PHI3_ERR_NULL_POINTER 1
#define PHI3_ERR_MISALIGNED 2
#define PHI3_ERR_NOT_INITIALIZED 3
#define PHI3_ERR_INVALID_ARGUMENT 4
#define PHI3_ERR_INVALID_UTF8 5
#define PHI3_ERR_GGUF 6
#define PHI3_ERR_UNSUPPORTED_MODEL 7
#define PHI3_ERR_BAD_LIMITS 8
#define PHI3_ERR_CONTEXT_BEYOND_TRAINING 9
#define PHI3_ERR_ARENA_TOO_SMALL 10
#define PHI3_ERR_ARENA_MISALIGNED 11
#define PHI3_ERR_CONTEXT_OVERFLOW 12
#define PHI3_ERR_BATCH_TOO_LARGE 13
#define PHI3_ERR_EMPTY_BATCH 14
#define PHI3_ERR_TOKEN_OUT_OF_RANGE 15
#define PHI3_ERR_NON_FINITE 16
#define PHI3_ERR_TOKENIZER 17
#define PHI3_ERR_BUFFER_TOO_SMALL 18
#define PHI3_ERR_TEXT_TOO_LONG 19
#define PHI3_ERR_SAMPLER_CONFIG 20
#define PHI3_ERR_SAMPLING 21
#define PHI3_ERR_SCRATCH_TOO_SMALL 22
#define PHI3_ERR_EMPTY_PROMPT 23
#define PHI3_ERR_EMPTY_STOP_STRING 24
#define PHI3_ERR_SIZE_MISMATCH 25
#define PHI3_ERR_TRUNCATE_BEYOND_END 26
#define PHI3_ERR_OTHER 27

/* A static, NUL-terminated message for any code (unknown ones included); never NULL. */
const char *phi3_error_message(phi3_status code);

/* ---- Structures ----------------------------------------------------------------------------- */

/* What a session is planned for. */
typedef struct phi3_limits {
    size_t max_context;                /* most positions (KV cache length) */
    size_t max_batch;                  /* most tokens per phi3_forward / prefill chunk */
    size_t workers;                    /* 1 (the C API runs on the calling thread) */
    bool allow_beyond_trained_context; /* allow max_context past the trained context */
} phi3_limits;

typedef struct phi3_model_info {
    size_t n_vocab;             /* logits per token */
    size_t n_embd;              /* embedding width */
    size_t n_layer;             /* layers */
    size_t max_trained_context; /* the longest context the model was trained for */
} phi3_model_info;

/* llama.cpp's chain: repetition penalty, top-k, top-p, min-p, temperature. */
typedef struct phi3_sampler_config {
    float temperature;    /* <= 0: greedy (largest logit, ties: lowest id) */
    size_t top_k;         /* 0 = off */
    float top_p;          /* (0, 1]; 1 = off */
    float min_p;          /* [0, 1]; 0 = off */
    float repeat_penalty; /* > 0; 1 = off */
    uint64_t seed;        /* the same seed and inputs give the same tokens */
} phi3_sampler_config;

/* len bytes of UTF-8 at ptr (not NUL-terminated; ptr may be NULL when len is 0). */
typedef struct phi3_str {
    const char *ptr;
    size_t len;
} phi3_str;

/* Nanoseconds since any fixed origin (only differences are used). */
typedef uint64_t (*phi3_clock_fn)(void *user);

/* Receives generated text: token is the sampled id (PHI3_NO_TOKEN for the final flush of
 * held-back text), text/len its completed text in whole UTF-8 characters (len may be 0; not
 * NUL-terminated; valid during the call only). Return 0 to continue, non-zero to stop. */
typedef int32_t (*phi3_piece_fn)(void *user, uint32_t token, const char *text, size_t len);

typedef struct phi3_generate_config {
    size_t max_tokens;            /* most tokens to sample (a stop token included) */
    const phi3_str *stop_strings; /* stop when the text contains one (none empty) */
    size_t n_stop_strings;        /* at most PHI3_MAX_STOP_STRINGS */
    size_t penalty_window;        /* tokens of history the repetition penalty sees */
    bool render_special;          /* write control tokens' text */
    phi3_clock_fn clock;          /* NULL: every timing is 0 */
    void *clock_user;             /* passed to clock */
} phi3_generate_config;

typedef struct phi3_generate_stats {
    size_t prompt_tokens; /* prompt tokens fed */
    size_t generated;     /* tokens sampled (a stop token included) */
    size_t decode_tokens; /* single-token forward calls */
    uint64_t prefill_ns;  /* by the config's clock */
    uint64_t decode_ns;
    uint32_t stop_reason; /* PHI3_STOP_* */
    uint32_t stop_detail; /* the stop token, or the stop string's index */
} phi3_generate_stats;

/* ---- Model ---------------------------------------------------------------------------------- */

/* Parses len bytes of GGUF and binds the model (phi3 or llama architecture). The bytes are
 * borrowed: keep them valid and unchanged while the model is used. They must start at an
 * address aligned for the tensor types (64 is always enough: aligned_alloc(64, ...), mmap). */
phi3_status phi3_model_init(phi3_model *model, const void *gguf, size_t len);

/* Vocabulary size, width, layers, trained context. */
phi3_status phi3_model_get_info(const phi3_model *model, phi3_model_info *out);

/* ---- Session -------------------------------------------------------------------------------- */

/* *bytes = the arena a session with these limits needs. */
phi3_status phi3_arena_size(const phi3_model *model, const phi3_limits *limits, size_t *bytes);

/* An empty session over arena (>= phi3_arena_size bytes at a multiple of PHI3_ARENA_ALIGN, any
 * contents). Borrows model and arena. */
phi3_status phi3_session_init(phi3_session *session, const phi3_model *model, void *arena,
                              size_t arena_len, const phi3_limits *limits);

/* *len = positions in the sequence. */
phi3_status phi3_session_len(const phi3_session *session, size_t *len);

/* Keeps the first n positions (0 resets the session). */
phi3_status phi3_session_truncate(phi3_session *session, size_t n);

/* Appends n tokens (1 ..= max_batch) and points *logits at the last token's n_vocab logits
 * (all_logits: n rows of n_vocab). The logits live in the arena until the session is next used.
 * logits and n_logits may be NULL. On error the session is unchanged. */
phi3_status phi3_forward(phi3_session *session, const uint32_t *tokens, size_t n, bool all_logits,
                         const float **logits, size_t *n_logits);

/* ---- Tokenizer ------------------------------------------------------------------------------ */

/* *bytes = the buffer a tokenizer for texts of up to max_text_bytes needs. */
phi3_status phi3_tokenizer_size(const phi3_model *model, size_t max_text_bytes, size_t *bytes);

/* Builds the tokenizer's tables in buf (>= phi3_tokenizer_size bytes, any alignment). Borrows
 * model and buf. */
phi3_status phi3_tokenizer_init(phi3_tokenizer *tok, const phi3_model *model, void *buf,
                                size_t len, size_t max_text_bytes);

/* At most this many ids come from phi3_tokenize of text_bytes bytes (any vocabulary, flags). */
size_t phi3_max_tokens(size_t text_bytes);

/* The ids of len bytes of UTF-8 text (flags: PHI3_TOKENIZE_*). *n_ids = their count; with
 * PHI3_ERR_BUFFER_TOO_SMALL the count needed (cap = phi3_max_tokens(len) always suffices). */
phi3_status phi3_tokenize(phi3_tokenizer *tok, const char *text, size_t len, uint32_t flags,
                          uint32_t *ids, size_t cap, size_t *n_ids);

/* The bytes of n ids (flags: PHI3_DETOKENIZE_*), as llama_detokenize: not NUL-terminated, a
 * character split across the end stays split. *n_bytes = the length; with
 * PHI3_ERR_BUFFER_TOO_SMALL the length needed. */
phi3_status phi3_detokenize(const phi3_tokenizer *tok, const uint32_t *ids, size_t n,
                            uint32_t flags, char *out, size_t cap, size_t *n_bytes);

/* Whether generation stops on id (EOS, <|end|>, <|im_end|> ...); false for a bad handle. */
bool phi3_is_stop_token(const phi3_tokenizer *tok, uint32_t id);

/* ---- Sampling ------------------------------------------------------------------------------- */

/* llama.cpp's defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, no penalty, seed 0. */
phi3_status phi3_sampler_config_default(phi3_sampler_config *out);

/* Greedy: temperature 0. */
phi3_status phi3_sampler_config_greedy(phi3_sampler_config *out);

/* Checks the settings (PHI3_ERR_SAMPLER_CONFIG) and seeds the RNG. */
phi3_status phi3_sampler_init(phi3_sampler *sampler, const phi3_sampler_config *config);

/* Scratch bytes phi3_sample needs for n_vocab logits. */
size_t phi3_sample_scratch_size(size_t n_vocab);

/* Chooses a token from n logits; recent (n_recent ids) is the repetition-penalty window. */
phi3_status phi3_sample(phi3_sampler *sampler, const float *logits, size_t n,
                        const uint32_t *recent, size_t n_recent, void *scratch,
                        size_t scratch_len, uint32_t *token);

/* The largest logit's id (ties: lowest; NaN skipped). */
phi3_status phi3_greedy(const float *logits, size_t n, uint32_t *token);

/* ---- Generation ----------------------------------------------------------------------------- */

/* 128 tokens, no stop strings, penalty window 64, no clock. */
phi3_status phi3_generate_config_default(phi3_generate_config *out);

/* *bytes = the scratch phi3_generate needs for this model, tokenizer and config. */
phi3_status phi3_generate_scratch_size(const phi3_model *model, const phi3_tokenizer *tok,
                                       const phi3_generate_config *config, size_t *bytes);

/* Appends the prompt to the session (prefill in chunks of max_batch), then samples and feeds
 * back tokens until max_tokens, a stop token, a stop string (the text before it is delivered),
 * a full context, or on_piece returning non-zero. on_piece is called once per sampled token and
 * once more with PHI3_NO_TOKEN if text was held back; on_piece and stats may be NULL. */
phi3_status phi3_generate(phi3_session *session, const phi3_tokenizer *tok, phi3_sampler *sampler,
                          const uint32_t *prompt, size_t n_prompt,
                          const phi3_generate_config *config, void *scratch, size_t scratch_len,
                          phi3_piece_fn on_piece, void *user, phi3_generate_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* PHI3_H */
