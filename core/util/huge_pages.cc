#include "core/util/huge_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <new>

namespace ktlog {
namespace {

// Whole ordinary pages: a block's last, partial huge page is left to
// ordinary pages (a 2 MiB page for its tail would be memory touched for
// nothing, and index tables are many blocks: core/account/index_tree.h).
size_t RoundUp(size_t bytes) {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return (bytes + page - 1) / page * page;
}

}  // namespace

void* AllocateHugePages(size_t bytes) {
  size_t size = RoundUp(bytes);
  // Map one huge page more than needed, then unmap what lies outside the
  // range starting at the first 2 MiB boundary.
  size_t mapped = size + kHugePageSize;
  void* raw = mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  uintptr_t aligned =
      (start + kHugePageSize - 1) / kHugePageSize * kHugePageSize;
  if (aligned > start) munmap(raw, aligned - start);
  uintptr_t end = start + mapped;
  if (end > aligned + size) {
    munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
  }
  void* p = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
  madvise(p, size, MADV_HUGEPAGE);  // advice: without it, ordinary pages
#endif
  return p;
}

void FreeHugePages(void* p, size_t bytes) { munmap(p, RoundUp(bytes)); }

}  // namespace ktlog
