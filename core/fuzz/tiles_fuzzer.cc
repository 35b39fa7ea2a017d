// Fuzzes what a tiles client parses from a web server it does not trust:
// tile paths, hash tiles and entry bundles. Accepted input round-trips to
// the same bytes; nothing crashes.
#include <cstdlib>
#include <string>

#include "core/merkle/tiles.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ktlog::TileId> id = ktlog::ParseTilePath(input);
  if (id.ok() && id->Path() != input) abort();
  for (uint64_t width : {uint64_t{1}, uint64_t{2}, uint64_t{7}, uint64_t{256},
                         uint64_t{size / 32}}) {
    absl::StatusOr<std::vector<ktlog::Hash>> hashes =
        ktlog::DecodeHashTile(input, width);
    if (hashes.ok() && ktlog::EncodeHashTile(*hashes) != input) abort();
  }
  // Bundles: every width up to 300 entries that the bytes could hold.
  for (uint64_t width = 1; width <= 300 && width * 2 <= size; ++width) {
    absl::StatusOr<std::vector<std::string>> entries =
        ktlog::DecodeEntryBundle(input, width);
    if (entries.ok() && ktlog::EncodeEntryBundle(*entries) != input) abort();
  }
  (void)ktlog::DecodeEntryBundle(input, 256);
  return 0;
}
