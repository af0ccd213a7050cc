// SPDX-License-Identifier: MIT
/*
 * pmulab_guest: runs one pmulab operation list on a real arm64 Linux kernel.
 *
 * Written for pmulab (not derived from kernel code). The Python side (pmulab.oracle.guest)
 * compiles an operation list (pmulab.sim.ops) into a text script, one step a line:
 *
 *     scenario <name>
 *     slots <n>                      number of tasks the list creates (spawn + fork)
 *     <step> <op> key=value ...      e.g. "3 open task=T ev=e pid=0 cpu=-1 group=- attr=<hex>"
 *
 * The controller (this process, pid 1's child) executes the steps in order. Each task is a
 * worker process pinned to its CPU with sched_setaffinity(), running as its uid; a step that
 * a task performs is sent to its worker over a pipe and the controller waits for the
 * worker's one-line JSON answer before the next step, so the kernel sees the steps in the
 * list's order. Between steps every worker is blocked in read() on its pipe.
 * "run" asks every runnable (not blocked) worker to spin for ticks * 4 ms at once.
 * "switch" wakes the task's worker with a no-op command (it is switched in on its CPU, answers
 * and sleeps again); "migrate" is sched_setaffinity(pid, {cpu}) by the controller while the
 * worker sleeps (its next wake-up places it on the new CPU).
 * EL0 PMU accesses use mrs/msr; a trapped access raises SIGILL, whose handler records the
 * trap and skips the instruction. Observations go to the console as JSON lines prefixed
 * with the marker "@@PMULAB@@ ".
 *
 * Build: aarch64-linux-gnu-gcc -static -O1 -o pmulab_guest pmulab_guest.c
 * Usage: pmulab_guest SCRIPT   (controller)    pmulab_guest --worker ...   (after exec)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define MARK "@@PMULAB@@ "
#define MAXSLOTS 16
#define MAXEV 32
#define LINE 8192
#define STEP_TIMEOUT_MS 30000

/* ------------------------------------------------------------------ EL0 register access */

static volatile sig_atomic_t g_trapped;

static void on_sigill(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	(void)sig; (void)si;
	g_trapped = 1;
	uc->uc_mcontext.pc += 4;	/* skip the trapped mrs/msr */
}

#define RD(name) static uint64_t rd_##name(void) { uint64_t v = 0; \
	asm volatile("mrs %0, " #name : "+r"(v) :: "memory"); return v; }
#define WR(name) static void wr_##name(uint64_t v) { asm volatile("msr " #name ", %0" :: "r"(v) : "memory"); }

RD(pmuserenr_el0) RD(pmccntr_el0) RD(pmselr_el0) RD(pmxevcntr_el0) RD(pmxevtyper_el0) RD(pmcr_el0)
RD(pmcntenset_el0) RD(pmcntenclr_el0) RD(pmovsset_el0) RD(pmovsclr_el0) RD(pmceid0_el0) RD(pmceid1_el0)
RD(pmccfiltr_el0) RD(cntvct_el0)
RD(pmevcntr0_el0) RD(pmevcntr1_el0) RD(pmevcntr2_el0) RD(pmevcntr3_el0) RD(pmevcntr4_el0)
RD(pmevcntr5_el0) RD(pmevcntr6_el0) RD(pmevcntr7_el0) RD(pmevcntr8_el0) RD(pmevcntr9_el0)
RD(pmevcntr10_el0) RD(pmevcntr11_el0) RD(pmevcntr12_el0) RD(pmevcntr13_el0) RD(pmevcntr14_el0)
RD(pmevcntr15_el0) RD(pmevcntr16_el0) RD(pmevcntr17_el0) RD(pmevcntr18_el0) RD(pmevcntr19_el0)
RD(pmevcntr20_el0) RD(pmevcntr21_el0) RD(pmevcntr22_el0) RD(pmevcntr23_el0) RD(pmevcntr24_el0)
RD(pmevcntr25_el0) RD(pmevcntr26_el0) RD(pmevcntr27_el0) RD(pmevcntr28_el0) RD(pmevcntr29_el0)
RD(pmevcntr30_el0)
RD(pmevtyper0_el0) RD(pmevtyper1_el0) RD(pmevtyper2_el0) RD(pmevtyper3_el0) RD(pmevtyper4_el0)
RD(pmevtyper5_el0)
WR(pmselr_el0) WR(pmcr_el0) WR(pmccntr_el0) WR(pmevcntr0_el0) WR(pmevcntr1_el0) WR(pmswinc_el0)
WR(pmcntenset_el0) WR(pmcntenclr_el0) WR(pmuserenr_el0) WR(pmxevcntr_el0) WR(pmovsclr_el0)

struct rreg { const char *name; uint64_t (*rd)(void); };
struct wreg { const char *name; void (*wr)(uint64_t); };

#define R(n, f) { n, rd_##f }
static const struct rreg RREGS[] = {
	R("PMUSERENR_EL0", pmuserenr_el0), R("PMCCNTR_EL0", pmccntr_el0), R("PMSELR_EL0", pmselr_el0),
	R("PMXEVCNTR_EL0", pmxevcntr_el0), R("PMXEVTYPER_EL0", pmxevtyper_el0), R("PMCR_EL0", pmcr_el0),
	R("PMCNTENSET_EL0", pmcntenset_el0), R("PMCNTENCLR_EL0", pmcntenclr_el0),
	R("PMOVSSET_EL0", pmovsset_el0), R("PMOVSCLR_EL0", pmovsclr_el0), R("PMCEID0_EL0", pmceid0_el0),
	R("PMCEID1_EL0", pmceid1_el0), R("PMCCFILTR_EL0", pmccfiltr_el0), R("CNTVCT_EL0", cntvct_el0),
	R("PMEVTYPER0_EL0", pmevtyper0_el0), R("PMEVTYPER1_EL0", pmevtyper1_el0),
	R("PMEVTYPER2_EL0", pmevtyper2_el0), R("PMEVTYPER3_EL0", pmevtyper3_el0),
	R("PMEVTYPER4_EL0", pmevtyper4_el0), R("PMEVTYPER5_EL0", pmevtyper5_el0),
	{ NULL, NULL }
};
#define W(n, f) { n, wr_##f }
static const struct wreg WREGS[] = {
	W("PMSELR_EL0", pmselr_el0), W("PMCR_EL0", pmcr_el0), W("PMCCNTR_EL0", pmccntr_el0),
	W("PMEVCNTR0_EL0", pmevcntr0_el0), W("PMEVCNTR1_EL0", pmevcntr1_el0), W("PMSWINC_EL0", pmswinc_el0),
	W("PMCNTENSET_EL0", pmcntenset_el0), W("PMCNTENCLR_EL0", pmcntenclr_el0),
	W("PMUSERENR_EL0", pmuserenr_el0), W("PMXEVCNTR_EL0", pmxevcntr_el0), W("PMOVSCLR_EL0", pmovsclr_el0),
	{ NULL, NULL }
};

/* hardware counter n (0..30 event counters, 31 = cycle counter), as libperf's arm64 table */
static uint64_t (*const CNT[32])(void) = {
	rd_pmevcntr0_el0, rd_pmevcntr1_el0, rd_pmevcntr2_el0, rd_pmevcntr3_el0, rd_pmevcntr4_el0,
	rd_pmevcntr5_el0, rd_pmevcntr6_el0, rd_pmevcntr7_el0, rd_pmevcntr8_el0, rd_pmevcntr9_el0,
	rd_pmevcntr10_el0, rd_pmevcntr11_el0, rd_pmevcntr12_el0, rd_pmevcntr13_el0, rd_pmevcntr14_el0,
	rd_pmevcntr15_el0, rd_pmevcntr16_el0, rd_pmevcntr17_el0, rd_pmevcntr18_el0, rd_pmevcntr19_el0,
	rd_pmevcntr20_el0, rd_pmevcntr21_el0, rd_pmevcntr22_el0, rd_pmevcntr23_el0, rd_pmevcntr24_el0,
	rd_pmevcntr25_el0, rd_pmevcntr26_el0, rd_pmevcntr27_el0, rd_pmevcntr28_el0, rd_pmevcntr29_el0,
	rd_pmevcntr30_el0, rd_pmccntr_el0,
};

/* mrs of a named register; returns 0 and sets *trap on SIGILL; -1 if the name is unknown */
static int el0_read(const char *name, uint64_t *val, int *trap)
{
	unsigned n;
	uint64_t (*fn)(void) = NULL;
	char tail;

	for (const struct rreg *r = RREGS; r->name; r++)
		if (!strcmp(r->name, name))
			fn = r->rd;
	if (!fn && sscanf(name, "PMEVCNTR%u_EL%c", &n, &tail) == 2 && n < 31 && tail == '0')
		fn = CNT[n];
	if (!fn)
		return -1;
	g_trapped = 0;
	*val = fn();
	*trap = g_trapped;
	if (*trap)
		*val = 0;
	return 0;
}

static int el0_write(const char *name, uint64_t val, int *trap)
{
	for (const struct wreg *w = WREGS; w->name; w++) {
		if (!strcmp(w->name, name)) {
			g_trapped = 0;
			w->wr(val);
			*trap = g_trapped;
			return 0;
		}
	}
	return -1;
}

/* ----------------------------------------------------------------------------- helpers */

static void die(const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf(MARK "{\"event\":\"fatal\",\"error\":\"%s\"}\n", buf);
	fflush(stdout);
	exit(2);
}

/* value of key=... in a step line ("" if absent); copies into out */
static const char *kv(const char *line, const char *key, char *out, size_t n)
{
	size_t kl = strlen(key);
	const char *p = line;

	out[0] = 0;
	while ((p = strstr(p, key))) {
		if ((p == line || p[-1] == ' ') && p[kl] == '=') {
			const char *v = p + kl + 1;
			size_t i = 0;
			while (v[i] && v[i] != ' ' && v[i] != '\n' && i + 1 < n) {
				out[i] = v[i];
				i++;
			}
			out[i] = 0;
			return out;
		}
		p += kl;
	}
	return out;
}

static long long kvi(const char *line, const char *key, long long dflt)
{
	char b[64];
	kv(line, key, b, sizeof(b));
	return b[0] ? strtoll(b, NULL, 0) : dflt;
}

static const char *errname(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL"; case EACCES: return "EACCES"; case EPERM: return "EPERM";
	case ENOENT: return "ENOENT"; case EOPNOTSUPP: return "EOPNOTSUPP"; case EBADF: return "EBADF";
	case ESRCH: return "ESRCH"; case E2BIG: return "E2BIG"; case EBUSY: return "EBUSY";
	case EAGAIN: return "EAGAIN"; case ENODEV: return "ENODEV"; case EFAULT: return "EFAULT";
	case ENOSPC: return "ENOSPC"; case EMFILE: return "EMFILE"; case ENOMEM: return "ENOMEM";
	default: return "E?";
	}
}

static int read_line(int fd, char *buf, size_t n, int timeout_ms)
{
	size_t i = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (i + 1 < n) {
		if (timeout_ms >= 0) {
			int r = poll(&p, 1, timeout_ms);
			if (r == 0)
				return -2;
			if (r < 0 && errno == EINTR)
				continue;
		}
		ssize_t r = read(fd, buf + i, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[i] == '\n')
			break;
		i++;
	}
	buf[i] = 0;
	return (int)i;
}

static void write_all(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* ------------------------------------------------------------------------------ worker */

struct ev { char name[32]; int fd; struct perf_event_mmap_page *pc; };

struct worker {
	char task[32];
	int slot;
	int cmd, rsp;			/* read commands, write answers */
	int pipes[MAXSLOTS][2][2];	/* [slot][0=cmd,1=rsp][read,write] */
	int nslots;
	struct ev evs[MAXEV];
	int nev;
};

static struct ev *find_ev(struct worker *w, const char *name)
{
	for (int i = 0; i < w->nev; i++)
		if (!strcmp(w->evs[i].name, name))
			return &w->evs[i];
	return NULL;
}

static void drop_ev(struct worker *w, struct ev *e)
{
	*e = w->evs[--w->nev];
}

static int hex2bin(const char *h, unsigned char *out, size_t max)
{
	size_t n = strlen(h) / 2;
	if (n > max)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (unsigned char)v;
	}
	return (int)n;
}

/* page snapshot under the seqlock (no retry: report what one pass saw, parity included) */
static int page_json(struct perf_event_mmap_page *pc, char *o, size_t n)
{
	uint32_t seq = *(volatile uint32_t *)&pc->lock;
	__sync_synchronize();
	uint32_t idx = pc->index;
	int64_t off = pc->offset;
	uint64_t te = pc->time_enabled, tr = pc->time_running;
	unsigned cap = pc->cap_user_rdpmc, capt = pc->cap_user_time, capz = pc->cap_user_time_zero;
	unsigned capts = pc->cap_user_time_short;
	unsigned w = pc->pmc_width;
	__sync_synchronize();
	uint32_t seq2 = *(volatile uint32_t *)&pc->lock;
	return snprintf(o, n, "\"cap_user_rdpmc\":%u,\"index\":%u,\"pmc_width\":%u,\"offset\":%lld,"
			"\"lock\":%u,\"lock_even\":%s,\"lock_stable\":%s,\"time_enabled\":%llu,"
			"\"time_running\":%llu,\"te_ge_tr\":%s,\"cap_user_time\":%u,\"cap_user_time_zero\":%u,"
			"\"cap_user_time_short\":%u",
			cap, idx, w, (long long)off, seq, (seq & 1) ? "false" : "true",
			seq == seq2 ? "true" : "false", (unsigned long long)te, (unsigned long long)tr,
			te >= tr ? "true" : "false", capt, capz, capts);
}

/* read(fd): first u64 of the read_format layout */
static int do_read(int fd, uint64_t *val, int *len)
{
	uint64_t buf[64];
	ssize_t r = read(fd, buf, sizeof(buf));
	if (r < 0)
		return -errno;
	*len = (int)r;
	*val = r >= 8 ? buf[0] : 0;
	return 0;
}

/* The documented self-monitoring loop (uapi comment; libperf perf_mmap__read_self, arm64) */
static int read_self(struct perf_event_mmap_page *pc, uint64_t *out, int *trap, int *retries)
{
	uint32_t seq, idx, width;
	int64_t count;
	*trap = 0;
	*retries = 0;
	do {
		seq = *(volatile uint32_t *)&pc->lock;
		__sync_synchronize();
		idx = pc->index;
		count = pc->offset;
		if (!pc->cap_user_rdpmc || !idx)
			return 1;	/* fall back to read() */
		width = pc->pmc_width;
		g_trapped = 0;
		int64_t pmc = (int64_t)CNT[(idx - 1) & 31]();
		if (g_trapped) {
			*trap = 1;
			return 2;
		}
		pmc <<= 64 - width;
		pmc >>= 64 - width;
		count += pmc;
		__sync_synchronize();
		if (*(volatile uint32_t *)&pc->lock == seq)
			break;
	} while (++*retries < 1000);
	*out = (uint64_t)count;
	return 0;
}

static void spin_ms(long ms)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (volatile int i = 0; i < 1000; i++)
			;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof(s), &s))
		die("sched_setaffinity(%d): %s", cpu, strerror(errno));
}

static void worker_loop(struct worker *w) __attribute__((noreturn));

static void exec_self(struct worker *w)
{
	/* argv: --worker task slot nslots cmdfd rspfd name=fd ... ; all pipes are inherited */
	char *argv[8 + MAXEV + 2 * MAXSLOTS];
	char a[8 + MAXEV + 2 * MAXSLOTS][48];
	int n = 0;
	argv[n++] = "/bin/pmulab_guest";
	argv[n++] = "--worker";
	snprintf(a[n], 48, "%s", w->task); argv[n] = a[n]; n++;
	snprintf(a[n], 48, "%d", w->slot); argv[n] = a[n]; n++;
	snprintf(a[n], 48, "%d", w->cmd); argv[n] = a[n]; n++;
	snprintf(a[n], 48, "%d", w->rsp); argv[n] = a[n]; n++;
	for (int i = 0; i < w->nev; i++) {
		snprintf(a[n], 48, "%s=%d", w->evs[i].name, w->evs[i].fd);
		argv[n] = a[n];
		n++;
	}
	argv[n] = NULL;
	execv("/proc/self/exe", argv);
	die("exec: %s", strerror(errno));
}

static void install_sigill(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigill;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGILL, &sa, NULL);
}

/* Execute one step line in this worker; the JSON fields (without braces) go to o. */
static void worker_step(struct worker *w, const char *line, char *o, size_t n)
{
	char op[32], b[LINE], evn[32];
	uint64_t val;
	int trap, len, r;
	struct ev *e;

	sscanf(line, "%*d %31s", op);
	kv(line, "ev", evn, sizeof(evn));
	e = evn[0] ? find_ev(w, evn) : NULL;
	o[0] = 0;

	if (!strcmp(op, "open")) {
		unsigned char attr[512];
		memset(attr, 0, sizeof(attr));
		kv(line, "attr", b, sizeof(b));
		if (hex2bin(b, attr, sizeof(attr)) < 0)
			die("bad attr hex");
		char g[32];
		kv(line, "group", g, sizeof(g));
		int gfd = -1;
		if (g[0] && strcmp(g, "-")) {
			struct ev *ge = find_ev(w, g);
			gfd = ge ? ge->fd : -1;
		}
		int fd = (int)syscall(__NR_perf_event_open, attr, (pid_t)kvi(line, "pid", 0),
				      (int)kvi(line, "cpu", -1), gfd, (unsigned long)kvi(line, "flags", 0));
		if (fd < 0) {
			snprintf(o, n, "\"errno\":\"%s\"", errname(errno));
			return;
		}
		if (e)
			e->fd = fd;	/* re-open under the same name replaces the handle */
		else if (w->nev < MAXEV) {
			snprintf(w->evs[w->nev].name, 32, "%s", evn);
			w->evs[w->nev].fd = fd;
			w->evs[w->nev].pc = NULL;
			w->nev++;
		}
		snprintf(o, n, "\"errno\":null");
		return;
	}
	if (!strcmp(op, "mrs")) {
		kv(line, "reg", b, sizeof(b));
		if (el0_read(b, &val, &trap) < 0)
			die("guest cannot read register %s", b);
		snprintf(o, n, "\"trap\":%s,\"value\":%llu", trap ? "true" : "false", (unsigned long long)val);
		return;
	}
	if (!strcmp(op, "msr")) {
		kv(line, "reg", b, sizeof(b));
		if (el0_write(b, (uint64_t)kvi(line, "value", 0), &trap) < 0)
			die("guest cannot write register %s", b);
		snprintf(o, n, "\"trap\":%s", trap ? "true" : "false");
		return;
	}
	if (!strcmp(op, "switch")) {	/* being switched in to read this command was the step */
		snprintf(o, n, "\"errno\":null");
		return;
	}
	if (!strcmp(op, "spin")) {
		spin_ms((long)kvi(line, "ms", 1));
		snprintf(o, n, "\"errno\":null");
		return;
	}
	if (!strcmp(op, "exec")) {
		for (int i = 0; i < w->nev; i++)
			w->evs[i].pc = NULL;
		exec_self(w);
	}
	/* everything below needs an event handle */
	if (!e) {
		snprintf(o, n, "\"errno\":\"EBADF\"");
		return;
	}
	if (!strcmp(op, "mmap")) {
		void *p = mmap(NULL, (size_t)kvi(line, "pages", 1) * 4096, PROT_READ | (kvi(line, "write", 1) ? PROT_WRITE : 0),
			       MAP_SHARED, e->fd, 0);
		if (p == MAP_FAILED) {
			snprintf(o, n, "\"errno\":\"%s\"", errname(errno));
			return;
		}
		e->pc = p;
		r = snprintf(o, n, "\"errno\":null,");
		page_json(e->pc, o + r, n - (size_t)r);
	} else if (!strcmp(op, "page")) {
		if (!e->pc) {
			snprintf(o, n, "\"errno\":\"unmapped\"");
			return;
		}
		r = snprintf(o, n, "\"errno\":null,");
		page_json(e->pc, o + r, n - (size_t)r);
	} else if (!strcmp(op, "munmap")) {
		r = e->pc ? munmap(e->pc, 4096) : -1;
		e->pc = NULL;
		snprintf(o, n, "\"errno\":%s", r ? "\"EINVAL\"" : "null");
	} else if (!strcmp(op, "close")) {
		r = close(e->fd);
		snprintf(o, n, "\"errno\":%s", r ? "\"EBADF\"" : "null");
		if (!r)
			drop_ev(w, e);
	} else if (!strcmp(op, "ioctl")) {
		unsigned long req = (unsigned long)kvi(line, "req", 0);
		uint64_t arg = (uint64_t)kvi(line, "arg", 0);
		if (kvi(line, "argp", 0))
			r = ioctl(e->fd, req, &arg);
		else
			r = ioctl(e->fd, req, (unsigned long)arg);
		if (r < 0)
			snprintf(o, n, "\"errno\":\"%s\"", errname(errno));
		else
			snprintf(o, n, "\"errno\":null");
	} else if (!strcmp(op, "read")) {
		r = do_read(e->fd, &val, &len);
		if (r)
			snprintf(o, n, "\"errno\":\"%s\"", errname(-r));
		else
			snprintf(o, n, "\"errno\":null,\"value\":%llu,\"nbytes\":%d", (unsigned long long)val, len);
	} else if (!strcmp(op, "read_self")) {
		uint64_t before = 0, after = 0, self = 0;
		int retries;
		char pre[64];
		kv(line, "prelude", pre, sizeof(pre));	/* comma list: reset, read, mmap (same step) */
		for (char *tok = strtok(pre, ","); tok; tok = strtok(NULL, ",")) {
			if (!strcmp(tok, "reset"))
				ioctl(e->fd, PERF_EVENT_IOC_RESET, 0);
			else if (!strcmp(tok, "read"))
				do_read(e->fd, &before, &len);
			else if (!strcmp(tok, "mmap")) {
				void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, e->fd, 0);
				if (p != MAP_FAILED)
					e->pc = p;
			}
		}
		if (!e->pc) {
			snprintf(o, n, "\"errno\":\"unmapped\"");
			return;
		}
		if (do_read(e->fd, &before, &len)) {
			snprintf(o, n, "\"errno\":\"%s\"", errname(errno));
			return;
		}
		int how = read_self(e->pc, &self, &trap, &retries);
		do_read(e->fd, &after, &len);
		snprintf(o, n, "\"errno\":null,\"result\":\"%s\",\"self\":%llu,\"read_before\":%llu,"
			 "\"read_after\":%llu,\"retries\":%d",
			 how == 0 ? "value" : how == 1 ? "fallback" : "trap", (unsigned long long)self,
			 (unsigned long long)before, (unsigned long long)after, retries);
	} else {
		die("unknown worker op %s", op);
	}
}

static void worker_loop(struct worker *w)
{
	char line[LINE], out[LINE], msg[LINE + 64];

	install_sigill();
	for (;;) {
		int r = read_line(w->cmd, line, sizeof(line), -1);
		if (r < 0)
			_exit(0);
		char op[32] = "";
		sscanf(line, "%*d %31s", op);
		if (!strcmp(op, "exit")) {
			write_all(w->rsp, "\"errno\":null\n");
			_exit(0);
		}
		if (!strcmp(op, "fork")) {
			int slot = (int)kvi(line, "slot", -1), cpu = (int)kvi(line, "cpu", -1);
			char child[32];
			kv(line, "child", child, sizeof(child));
			pid_t pid = fork();
			if (pid < 0) {
				snprintf(msg, sizeof(msg), "\"errno\":\"%s\"\n", errname(errno));
				write_all(w->rsp, msg);
				continue;
			}
			if (pid == 0) {
				if (cpu >= 0)
					pin(cpu);
				snprintf(w->task, sizeof(w->task), "%s", child);
				w->slot = slot;
				w->cmd = w->pipes[slot][0][0];
				w->rsp = w->pipes[slot][1][1];
				for (int i = 0; i < w->nev; i++)
					w->evs[i].pc = NULL;	/* perf mappings are not copied (VM_DONTCOPY) */
				snprintf(msg, sizeof(msg), "\"pid\":%d\n", (int)getpid());
				write_all(w->rsp, msg);
				continue;
			}
			snprintf(msg, sizeof(msg), "\"errno\":null,\"child_pid\":%d\n", (int)pid);
			write_all(w->rsp, msg);
			continue;
		}
		worker_step(w, line, out, sizeof(out));
		snprintf(msg, sizeof(msg), "%s\n", out);
		write_all(w->rsp, msg);
	}
}

/* -------------------------------------------------------------------------- controller */

struct slot { char task[32]; pid_t pid; int live, blocked; };

struct ctl {
	char scenario[64];
	struct worker proto;
	struct slot slots[MAXSLOTS];
	int nslots;
};

static int slot_of(struct ctl *c, const char *task)
{
	for (int i = 0; i < MAXSLOTS; i++)
		if (c->slots[i].live && !strcmp(c->slots[i].task, task))
			return i;
	return -1;
}

static void emit(struct ctl *c, int step, const char *op, const char *task, const char *fields)
{
	printf(MARK "{\"scenario\":\"%s\",\"step\":%d,\"op\":\"%s\",\"task\":%s%s%s%s%s}\n", c->scenario, step, op,
	       task ? "\"" : "", task ? task : "null", task ? "\"" : "", fields[0] ? "," : "", fields);
	fflush(stdout);
}

static void fail(struct ctl *c, int step, const char *what)
{
	printf(MARK "{\"scenario\":\"%s\",\"step\":%d,\"event\":\"error\",\"error\":\"%s\"}\n",
	       c->scenario, step, what);
	fflush(stdout);
}

/* send a line to a worker and wait for its answer */
static int ask(struct ctl *c, int slot, int step, const char *line, char *ans, size_t n)
{
	char msg[LINE + 2];
	snprintf(msg, sizeof(msg), "%s\n", line);
	write_all(c->proto.pipes[slot][0][1], msg);
	int r = read_line(c->proto.pipes[slot][1][0], ans, n, STEP_TIMEOUT_MS);
	if (r == -2) {
		fail(c, step, "worker timed out");
		return -1;
	}
	if (r < 0) {
		fail(c, step, "worker died");
		return -1;
	}
	return 0;
}

/* replace pid=@NAME by the worker's pid */
static void subst(struct ctl *c, const char *in, char *out, size_t n)
{
	const char *at = strstr(in, "pid=@");
	if (!at) {
		snprintf(out, n, "%s", in);
		return;
	}
	char name[32];
	int i = 0;
	const char *p = at + 5;
	while (*p && *p != ' ' && i < 31)
		name[i++] = *p++;
	name[i] = 0;
	int s = slot_of(c, name);
	snprintf(out, n, "%.*spid=%d%s", (int)(at - in), in, s >= 0 ? (int)c->slots[s].pid : 999999, p);
}

static void sysctl_write(const char *name, long long value, char *o, size_t n)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/%s", name);
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	int fd = open(path, O_WRONLY);
	if (fd < 0) {
		snprintf(o, n, "\"errno\":\"%s\"", errname(errno));
		return;
	}
	char v[32];
	snprintf(v, sizeof(v), "%lld\n", value);
	ssize_t r = write(fd, v, strlen(v));
	int e = errno;
	close(fd);
	if (r < 0)
		snprintf(o, n, "\"errno\":\"%s\"", errname(e));
	else
		snprintf(o, n, "\"errno\":null");
}

static int controller(const char *script)
{
	FILE *f = fopen(script, "r");
	char line[LINE], sub[LINE], ans[LINE], fields[LINE], op[32], task[32];
	struct ctl c;
	struct utsname u;

	if (!f)
		die("cannot open %s", script);
	memset(&c, 0, sizeof(c));
	uname(&u);
	signal(SIGPIPE, SIG_IGN);
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if (!strncmp(line, "scenario ", 9)) {
			snprintf(c.scenario, sizeof(c.scenario), "%.63s", line + 9);
			printf(MARK "{\"scenario\":\"%s\",\"event\":\"begin\",\"kernel\":\"%s\",\"machine\":\"%s\","
			       "\"ncpus\":%ld}\n", c.scenario, u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN));
			fflush(stdout);
			continue;
		}
		if (!strncmp(line, "slots ", 6)) {
			c.nslots = atoi(line + 6);
			if (c.nslots > MAXSLOTS)
				die("too many tasks (%d > %d)", c.nslots, MAXSLOTS);
			for (int i = 0; i < c.nslots; i++)
				for (int k = 0; k < 2; k++)
					if (pipe(c.proto.pipes[i][k]))
						die("pipe: %s", strerror(errno));
			c.proto.nslots = c.nslots;
			continue;
		}
		int step = -1;
		if (sscanf(line, "%d %31s", &step, op) != 2)
			die("bad script line: %s", line);
		kv(line, "task", task, sizeof(task));
		fields[0] = 0;
		if (!strcmp(op, "spawn")) {
			int slot = (int)kvi(line, "slot", -1), cpu = (int)kvi(line, "cpu", 0);
			int uid = (int)kvi(line, "uid", 0);
			pid_t pid = fork();
			if (pid == 0) {
				struct worker w = c.proto;
				snprintf(w.task, sizeof(w.task), "%s", task);
				w.slot = slot;
				w.cmd = w.pipes[slot][0][0];
				w.rsp = w.pipes[slot][1][1];
				pin(cpu);
				if (uid) {
					if (setgid((gid_t)uid) || setuid((uid_t)uid))
						die("setuid(%d): %s", uid, strerror(errno));
					prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);	/* ptrace_may_access for same-uid peers */
				}
				worker_loop(&w);
			}
			snprintf(c.slots[slot].task, 32, "%s", task);
			c.slots[slot].pid = pid;
			c.slots[slot].live = 1;
			c.slots[slot].blocked = 0;
			snprintf(fields, sizeof(fields), "\"errno\":null");
		} else if (!strcmp(op, "sysctl")) {
			char name[96];
			kv(line, "name", name, sizeof(name));
			sysctl_write(name, kvi(line, "value", 0), fields, sizeof(fields));
		} else if (!strcmp(op, "block") || !strcmp(op, "wake")) {
			int s = slot_of(&c, task);
			if (s < 0) {
				fail(&c, step, "no such task");
				return 1;
			}
			c.slots[s].blocked = !strcmp(op, "block");
			snprintf(fields, sizeof(fields), "\"errno\":null");
		} else if (!strcmp(op, "migrate")) {
			int s = slot_of(&c, task);
			cpu_set_t set;
			if (s < 0) {
				fail(&c, step, "no such task");
				return 1;
			}
			CPU_ZERO(&set);
			CPU_SET((int)kvi(line, "cpu", 0), &set);
			if (sched_setaffinity(c.slots[s].pid, sizeof(set), &set))
				snprintf(fields, sizeof(fields), "\"errno\":\"%s\"", errname(errno));
			else
				snprintf(fields, sizeof(fields), "\"errno\":null");
		} else if (!strcmp(op, "run")) {
			long ms = (long)kvi(line, "ms", 4);
			char cmd[64];
			snprintf(cmd, sizeof(cmd), "%d spin ms=%ld\n", step, ms);
			for (int i = 0; i < MAXSLOTS; i++)
				if (c.slots[i].live && !c.slots[i].blocked)
					write_all(c.proto.pipes[i][0][1], cmd);
			for (int i = 0; i < MAXSLOTS; i++)
				if (c.slots[i].live && !c.slots[i].blocked &&
				    read_line(c.proto.pipes[i][1][0], ans, sizeof(ans), STEP_TIMEOUT_MS) < 0) {
					fail(&c, step, "worker did not finish run");
					return 1;
				}
			snprintf(fields, sizeof(fields), "\"errno\":null");
		} else {
			int s = slot_of(&c, task);
			if (s < 0) {
				fail(&c, step, "no such task");
				return 1;
			}
			subst(&c, line, sub, sizeof(sub));
			if (ask(&c, s, step, sub, ans, sizeof(ans)))
				return 1;
			snprintf(fields, sizeof(fields), "%s", ans);
			if (!strcmp(op, "fork")) {
				int cs = (int)kvi(line, "slot", -1);
				char child[32], cans[256];
				kv(line, "child", child, sizeof(child));
				if (read_line(c.proto.pipes[cs][1][0], cans, sizeof(cans), STEP_TIMEOUT_MS) < 0) {
					fail(&c, step, "child did not start");
					return 1;
				}
				snprintf(c.slots[cs].task, 32, "%s", child);
				int cpid = 0;
				if (sscanf(cans, "\"pid\":%d", &cpid) != 1) {
					fail(&c, step, "bad answer from the child");
					return 1;
				}
				c.slots[cs].pid = (pid_t)cpid;
				c.slots[cs].live = 1;
				c.slots[cs].blocked = 0;
			} else if (!strcmp(op, "exit")) {
				waitpid(c.slots[s].pid, NULL, 0);
				c.slots[s].live = 0;
			}
		}
		emit(&c, step, op, task[0] ? task : NULL, fields);
	}
	for (int i = 0; i < MAXSLOTS; i++)
		if (c.slots[i].live)
			kill(c.slots[i].pid, SIGKILL);
	while (wait(NULL) > 0)
		;
	printf(MARK "{\"scenario\":\"%s\",\"event\":\"end\"}\n", c.scenario);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 6 && !strcmp(argv[1], "--worker")) {
		/* re-entered after exec: restore the task's identity and event handles */
		struct worker w;
		memset(&w, 0, sizeof(w));
		snprintf(w.task, sizeof(w.task), "%s", argv[2]);
		w.slot = atoi(argv[3]);
		w.cmd = atoi(argv[4]);
		w.rsp = atoi(argv[5]);
		for (int i = 6; i < argc && w.nev < MAXEV; i++) {
			char *eq = strchr(argv[i], '=');
			if (!eq)
				continue;
			snprintf(w.evs[w.nev].name, 32, "%.*s", (int)(eq - argv[i]), argv[i]);
			w.evs[w.nev].fd = atoi(eq + 1);
			w.nev++;
		}
		write_all(w.rsp, "\"errno\":null\n");
		worker_loop(&w);
	}
	if (argc < 2)
		die("usage: pmulab_guest SCRIPT...");
	int rc = 0;
	for (int i = 1; i < argc; i++)
		rc |= controller(argv[i]);
	return rc;
}
