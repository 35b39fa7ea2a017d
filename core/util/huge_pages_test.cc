#include "core/util/huge_pages.h"

#include <cstdint>
#include <cstring>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

TEST(HugePagesTest, BlocksAreAlignedZeroedAndWritable) {
  for (size_t bytes : {kHugePageSize, kHugePageSize + 1, kHugePageSize + 4096,
                       2 * kHugePageSize - 1, 5 * kHugePageSize}) {
    auto* p = static_cast<unsigned char*>(AllocateHugePages(bytes));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % kHugePageSize, 0u) << bytes;
    EXPECT_EQ(p[0], 0);
    EXPECT_EQ(p[bytes - 1], 0);
    memset(p, 0xab, bytes);
    EXPECT_EQ(p[bytes / 2], 0xab);
    FreeHugePages(p, bytes);
  }
}

// A table large enough to take the huge-page path, and small blocks that
// do not: both hold what was put in them through growth and rehashing.
TEST(HugePagesTest, AHashMapKeepsItsContents) {
  using Map = HugePageHashMap<uint64_t, std::string>;
  Map m;
  const uint64_t n = 200000;  // ~8 MiB of slots
  for (uint64_t i = 0; i < n; ++i) m.emplace(i * 7919, std::to_string(i));
  ASSERT_EQ(m.size(), n);
  for (uint64_t i = 0; i < n; i += 997) {
    auto it = m.find(i * 7919);
    ASSERT_NE(it, m.end());
    EXPECT_EQ(it->second, std::to_string(i));
  }
  EXPECT_EQ(m.count(1), 0u);
  Map small;
  small.emplace(1, "one");
  EXPECT_EQ(small.at(1), "one");
}

}  // namespace
}  // namespace ktlog
