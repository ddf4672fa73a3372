/*
 * insn_count: a qemu-user TCG plugin that counts executed guest instructions, with markers.
 *
 * Built by scripts/arm-cost with the host C compiler (cc -shared -fPIC); loaded with
 *   qemu-aarch64 -plugin ./insn_count.so,out=FILE ...
 *
 * Counting: every translated block gets an inline "add its instruction count to a u64" op
 * (no helper call, so the slowdown is small). The add is not atomic: run the guest with one
 * thread.
 *
 * Markers: a guest marks a point by making the (unallocated) system call MARK_NR with
 * x0 = MARK_MAGIC and x1 = an id. The plugin sees the call before qemu rejects it (the guest
 * gets -ENOSYS and carries on) and writes "mark ID COUNT" to FILE (stderr without out=).
 * At exit it writes "total COUNT". Counts are exact and repeatable for the same binary and
 * input, which is what makes them usable as a cost measure (instructions, not cycles).
 *
 * qemu 7.2 (Debian 12) has plugin support compiled in but ships no qemu-plugin.h: the few
 * declarations used are written out below; they follow plugin API version 1.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
typedef struct qemu_info_t qemu_info_t;

enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
typedef void (*qemu_plugin_vcpu_syscall_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index,
                                              int64_t num, uint64_t a1, uint64_t a2,
                                              uint64_t a3, uint64_t a4, uint64_t a5,
                                              uint64_t a6, uint64_t a7, uint64_t a8);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op,
                                              void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_syscall_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_syscall_cb_t cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

#define EXPORT __attribute__((visibility("default")))

EXPORT int qemu_plugin_version = 1;

/* Keep in sync with examples/arm_cost.rs. */
#define MARK_NR 0x7fc0
#define MARK_MAGIC 0x70683369636f7374ull /* "ph3icost" */

static uint64_t insns;
static FILE *out;

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &insns,
                                             qemu_plugin_tb_n_insns(tb));
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1,
                       uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6,
                       uint64_t a7, uint64_t a8)
{
    (void)id; (void)vcpu; (void)a3; (void)a4; (void)a5; (void)a6; (void)a7; (void)a8;
    if (num == MARK_NR && a1 == MARK_MAGIC) {
        fprintf(out, "mark %" PRIu64 " %" PRIu64 "\n", a2, insns);
        fflush(out);
    }
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    (void)id; (void)p;
    fprintf(out, "total %" PRIu64 "\n", insns);
    fflush(out);
    if (out != stderr)
        fclose(out);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    out = stderr;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            out = fopen(argv[i] + 4, "w");
            if (!out) {
                perror(argv[i] + 4);
                return -1;
            }
        } else {
            fprintf(stderr, "insn_count: unknown argument %s (only out=FILE)\n", argv[i]);
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
