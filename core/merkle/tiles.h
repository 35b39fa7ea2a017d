// C2SP tlog-tiles (c2sp.org/tlog-tiles): the tree as immutable tiles of 256
// hashes, and the leaves as bundles of 256 entries, at fixed paths a web
// server or CDN can serve and cache. docs/tiles.md has the layout.
//
//   tile/<L>/<N>[.p/<W>]        hashes of the tree's nodes at level 8L
//                               (subtree height 8L), indexes 256N..256N+W
//   tile/entries/<N>[.p/<W>]    entries 256N..256N+W, each as u16 length
//                               and bytes
//
// N is written in 3-digit groups, all but the last prefixed with "x"
// (1234067 -> x001/x234/067). A full tile (W = 256) has no ".p/<W>"; a
// partial tile, the right edge of a tree, has W in 1..255. Any node of the
// tree can be computed from the tile that holds its level-8L descendants.
#ifndef KTLOG_CORE_MERKLE_TILES_H_
#define KTLOG_CORE_MERKLE_TILES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/hash.h"
#include "core/merkle/merkle.h"

namespace ktlog {

inline constexpr int kTileHeight = 8;
inline constexpr uint64_t kTileWidth = 256;
// Entries in a bundle are at most this long (u16 length).
inline constexpr size_t kMaxBundledEntry = 65535;

struct TileId {
  bool entries = false;  // an entry bundle rather than a hash tile
  uint8_t level = 0;     // L (hash tiles only; 0..7)
  uint64_t index = 0;    // N
  uint64_t width = 0;    // W: 1..256; 256 is a full tile

  bool full() const { return width == kTileWidth; }
  // The path, without a leading "/".
  std::string Path() const;
  friend bool operator==(const TileId& a, const TileId& b) {
    return a.entries == b.entries && a.level == b.level && a.index == b.index &&
           a.width == b.width;
  }
};

// INVALID_ARGUMENT unless `path` (without a leading "/") is the canonical
// path of a tile or entry bundle: no leading zero groups, levels 0..7,
// widths 1..255 after ".p/".
absl::StatusOr<TileId> ParseTilePath(absl::string_view path);

// The width of tile `index` at `level` (or of entry bundle `index`, level 0)
// in the tree of `tree_size`: 256 if full, else the number of its hashes
// that exist (0: none yet).
uint64_t TileWidthAt(uint8_t level, uint64_t index, uint64_t tree_size);

// The tile (at its width in the tree of `tree_size`) holding the level-8L
// descendants of `node`, which must be complete in that tree.
TileId TileOf(const NodeId& node, uint64_t tree_size);

// `node`'s hash from the hashes of its tile (TileOf), which must hold them.
Hash NodeFromTile(const NodeId& node, const std::vector<Hash>& tile);

// Tile contents: W hashes of 32 bytes; INVALID_ARGUMENT for another length.
std::string EncodeHashTile(const std::vector<Hash>& hashes);
absl::StatusOr<std::vector<Hash>> DecodeHashTile(absl::string_view data,
                                                 uint64_t width);

// Entry bundles: each entry as u16 length, bytes. Requires entries of at
// most kMaxBundledEntry bytes. Decode: INVALID_ARGUMENT unless `data` is
// exactly `width` entries.
std::string EncodeEntryBundle(const std::vector<std::string>& entries);
// The same framing for any number of entries up to `max_entries`.
absl::StatusOr<std::vector<std::string>> DecodeEntryList(absl::string_view data,
                                                         uint64_t max_entries);
absl::StatusOr<std::vector<std::string>> DecodeEntryBundle(
    absl::string_view data, uint64_t width);

}  // namespace ktlog

#endif  // KTLOG_CORE_MERKLE_TILES_H_
