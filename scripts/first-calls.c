// first-calls: runs a program and writes the names of the functions of its executable that
// were called, in the order of their first call. scripts/hot-functions builds the linker's
// symbol-ordering file from it.
//
// Usage: first-calls OUT SYMBOLS PROGRAM [ARGS...]
//   SYMBOLS: `readelf -sW PROGRAM` output; every defined FUNC symbol is watched.
//
// How: a one-shot breakpoint (int3) on each function's first byte. When a thread hits one, the
// original byte goes back, the name is written and the thread resumes at that instruction; so
// each function costs one stop, and a function never called is never noted. Sampling (perf)
// misses functions that run once, and each of those still faults its pages in.
// Threads are followed; a forked child keeps the breakpoints untraced, so the program may spawn
// other programs (fork and exec at once, as Foundation's Process does) but not fork and run on.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
  unsigned long offset;  // from the executable's load address
  char *name;            // every name at this offset, newline-separated
  unsigned char byte;    // the byte the breakpoint replaced
  int called;
} Function;

static Function *functions;
static size_t count;

static int byOffset(const void *a, const void *b) {
  unsigned long x = ((const Function *)a)->offset, y = ((const Function *)b)->offset;
  return x < y ? -1 : x > y;
}

static Function *functionAt(unsigned long offset) {
  size_t low = 0, high = count;
  while (low < high) {
    size_t middle = (low + high) / 2;
    if (functions[middle].offset < offset) low = middle + 1; else high = middle;
  }
  return low < count && functions[low].offset == offset ? &functions[low] : NULL;
}

/// Reads FUNC symbols from readelf's table; aliases (one offset, several names) become one entry.
static void readSymbols(const char *path) {
  FILE *file = fopen(path, "r");
  if (!file) { perror(path); exit(2); }
  size_t capacity = 1 << 16;
  functions = malloc(capacity * sizeof *functions);
  char line[8192], type[32], bind[32], visibility[32], section[32], name[4096];
  while (fgets(line, sizeof line, file)) {
    unsigned long value;  // the size column is skipped: readelf writes large ones in hex
    if (sscanf(line, " %*[0-9]: %lx %*s %31s %31s %31s %31s %4095s",
               &value, type, bind, visibility, section, name) != 6) continue;
    if (strcmp(type, "FUNC") != 0 || strcmp(section, "UND") == 0 || value == 0) continue;
    if (count == capacity) functions = realloc(functions, (capacity *= 2) * sizeof *functions);
    functions[count++] = (Function){ .offset = value, .name = strdup(name) };
  }
  fclose(file);
  qsort(functions, count, sizeof *functions, byOffset);
  size_t unique = 0;
  for (size_t i = 0; i < count; i++) {
    if (unique && functions[unique - 1].offset == functions[i].offset) {
      Function *kept = &functions[unique - 1];
      size_t length = strlen(kept->name) + strlen(functions[i].name) + 2;
      char *joined = malloc(length);
      snprintf(joined, length, "%s\n%s", kept->name, functions[i].name);
      free(kept->name); free(functions[i].name);
      kept->name = joined;
    } else {
      functions[unique++] = functions[i];
    }
  }
  count = unique;
}

/// The address the executable (not ld.so or a library) is loaded at.
static unsigned long loadAddress(pid_t pid, const char *program) {
  char path[64], line[4096], resolved[4096];
  if (!realpath(program, resolved)) { perror(program); exit(2); }
  snprintf(path, sizeof path, "/proc/%d/maps", pid);
  FILE *maps = fopen(path, "r");
  unsigned long base = 0;
  while (maps && fgets(line, sizeof line, maps)) {
    unsigned long start, offset;
    char *file = strchr(line, '/');
    if (!file) continue;
    file[strcspn(file, "\n")] = 0;
    if (sscanf(line, "%lx-%*x %*s %lx", &start, &offset) == 2 && strcmp(file, resolved) == 0) {
      base = start - offset;
      break;
    }
  }
  if (maps) fclose(maps);
  return base;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: first-calls OUT SYMBOLS PROGRAM [ARGS...]\n");
    return 2;
  }
  FILE *out = fopen(argv[1], "w");
  if (!out) { perror(argv[1]); return 2; }
  readSymbols(argv[2]);

  pid_t child = fork();
  if (child == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    execv(argv[3], argv + 3);
    perror(argv[3]);
    _exit(127);
  }
  int status;
  waitpid(child, &status, 0);  // stopped at exec: nothing of the program has run yet
  ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL);

  unsigned long base = loadAddress(child, argv[3]);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", child);
  int memory = open(path, O_RDWR);
  const unsigned char breakpoint = 0xCC;
  for (size_t i = 0; i < count; i++) {
    if (pread(memory, &functions[i].byte, 1, base + functions[i].offset) != 1 ||
        pwrite(memory, &breakpoint, 1, base + functions[i].offset) != 1) {
      fprintf(stderr, "first-calls: cannot set a breakpoint at %#lx\n", functions[i].offset);
      return 2;
    }
  }
  ptrace(PTRACE_CONT, child, 0, 0);

  size_t called = 0;
  for (;;) {
    pid_t thread = waitpid(-1, &status, __WALL);
    if (thread < 0) {
      if (errno == EINTR) continue;
      break;  // no traced thread left
    }
    if (!WIFSTOPPED(status)) continue;  // a thread (or the program) ended
    int signal = WSTOPSIG(status);
    int event = status >> 16;
    if (signal == SIGTRAP && event == 0) {
      struct user_regs_struct registers;
      ptrace(PTRACE_GETREGS, thread, 0, &registers);
      Function *function = functionAt(registers.rip - 1 - base);
      if (function) {
        // Another thread may have hit it before the byte went back: just run it again.
        if (!function->called) {
          function->called = 1;
          pwrite(memory, &function->byte, 1, base + function->offset);
          fprintf(out, "%s\n", function->name);
          called++;
        }
        registers.rip -= 1;
        ptrace(PTRACE_SETREGS, thread, 0, &registers);
        signal = 0;
      }
    } else if (signal == SIGTRAP || signal == SIGSTOP) {
      signal = 0;  // a clone event, or a new thread's first stop
    }
    ptrace(PTRACE_CONT, thread, 0, signal);
  }
  fclose(out);
  fprintf(stderr, "first-calls: %zu of %zu functions called\n", called, count);
  return 0;
}
