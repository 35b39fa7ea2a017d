// HugePageAllocator: an allocator for the large tables ktlog holds in
// memory (the auditor's version per position: gigabytes at 10^7 accounts;
// the account index itself is compact, core/account/index_tree.h). Blocks of 2
// MiB and more are mapped on their own, 2 MiB-aligned, and marked for
// transparent huge pages (madvise MADV_HUGEPAGE, which Debian's default
// "madvise" mode honours), so that random access into the table takes a
// TLB entry and a first-touch page fault per 2 MiB instead of per 4 KiB.
// Smaller blocks come from std::allocator. Where the kernel has no huge
// page to give, the mapping works as ordinary pages. The effect is measured
// in docs/benchmarks.md (on the index's rebuild, when it was a table).
#ifndef KTLOG_CORE_UTIL_HUGE_PAGES_H_
#define KTLOG_CORE_UTIL_HUGE_PAGES_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace ktlog {

inline constexpr size_t kHugePageSize = size_t{2} << 20;

// `bytes` (>= kHugePageSize) of zero-filled memory, 2 MiB-aligned, marked
// for huge pages (ordinary pages where the kernel has none to give, and for
// the part past the last whole 2 MiB);
// throws std::bad_alloc if the memory cannot be mapped.
void* AllocateHugePages(size_t bytes);
// Frees what AllocateHugePages(bytes) returned.
void FreeHugePages(void* p, size_t bytes);

template <class T>
struct HugePageAllocator {
  using value_type = T;

  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding

  T* allocate(size_t n) {
    if (n > SIZE_MAX / sizeof(T)) throw std::bad_array_new_length();
    if (n * sizeof(T) < kHugePageSize) return std::allocator<T>().allocate(n);
    return static_cast<T*>(AllocateHugePages(n * sizeof(T)));
  }
  void deallocate(T* p, size_t n) {
    if (n * sizeof(T) < kHugePageSize) {
      std::allocator<T>().deallocate(p, n);
    } else {
      FreeHugePages(p, n * sizeof(T));
    }
  }

  template <class U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
  template <class U>
  bool operator!=(const HugePageAllocator<U>&) const {
    return false;
  }
};

// A hash map whose table is on huge pages.
template <class K, class V>
using HugePageHashMap =
    absl::flat_hash_map<K, V, absl::Hash<K>, std::equal_to<K>,
                        HugePageAllocator<std::pair<const K, V>>>;

}  // namespace ktlog

#endif  // KTLOG_CORE_UTIL_HUGE_PAGES_H_
