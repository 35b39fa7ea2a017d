#include "core/merkle/tiles.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/util/bytes.h"

namespace ktlog {
namespace {

std::string IndexPath(uint64_t n) {
  std::vector<std::string> groups;
  do {
    groups.push_back(absl::StrCat(n % 1000));
    n /= 1000;
  } while (n > 0);
  std::string out;
  for (size_t i = groups.size(); i-- > 0;) {
    std::string g(3 - groups[i].size(), '0');
    g += groups[i];
    absl::StrAppend(&out, i > 0 ? "x" : "", g, i > 0 ? "/" : "");
  }
  return out;
}

bool ThreeDigits(absl::string_view s, uint64_t* v) {
  if (s.size() != 3) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(s, v);
}

absl::Status Bad(absl::string_view path, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("\"", path.substr(0, 100), "\" is not a tile path: ", why));
}

}  // namespace

std::string TileId::Path() const {
  std::string p = entries ? "tile/entries/" : absl::StrCat("tile/", level, "/");
  absl::StrAppend(&p, IndexPath(index));
  if (!full()) absl::StrAppend(&p, ".p/", width);
  return p;
}

absl::StatusOr<TileId> ParseTilePath(absl::string_view path) {
  if (path.size() > 100) return Bad(path, "too long");
  std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() < 3 || parts[0] != "tile") return Bad(path, "no tile/");
  TileId t;
  size_t i = 1;
  if (parts[1] == "entries") {
    t.entries = true;
  } else if (parts[1].size() == 1 && parts[1][0] >= '0' &&
             parts[1][0] < '0' + kTileHeight) {
    t.level = static_cast<uint8_t>(parts[1][0] - '0');
  } else {
    return Bad(path, "the level is not 0..7 or entries");
  }
  ++i;
  t.width = kTileWidth;
  size_t end = parts.size();
  if (end >= 2 && absl::EndsWith(parts[end - 2], ".p")) {
    uint64_t w = 0;
    if (!absl::SimpleAtoi(parts[end - 1], &w) || w == 0 || w >= kTileWidth ||
        absl::StrCat(w) != parts[end - 1]) {
      return Bad(path, "a partial width is 1..255");
    }
    t.width = w;
    parts[end - 2].remove_suffix(2);
    --end;
  }
  if (end - i > 7) return Bad(path, "index too large");
  for (; i < end; ++i) {
    bool last = i + 1 == end;
    absl::string_view g = parts[i];
    uint64_t v = 0;
    if (!last) {
      if (g.empty() || g[0] != 'x') return Bad(path, "groups start with x");
      g.remove_prefix(1);
    }
    if (!ThreeDigits(g, &v)) return Bad(path, "groups are 3 digits");
    if (!last && t.index == 0 && v == 0) return Bad(path, "leading zero group");
    if (t.index > (UINT64_MAX - v) / 1000) return Bad(path, "index too large");
    t.index = t.index * 1000 + v;
  }
  return t;
}

uint64_t TileWidthAt(uint8_t level, uint64_t index, uint64_t tree_size) {
  uint64_t nodes = tree_size >> (kTileHeight * level);
  if (index >= nodes / kTileWidth + 1) return 0;
  if (index < nodes / kTileWidth) return kTileWidth;
  return nodes % kTileWidth;
}

TileId TileOf(const NodeId& node, uint64_t tree_size) {
  TileId t;
  t.level = static_cast<uint8_t>(node.level / kTileHeight);
  int below = node.level % kTileHeight;
  t.index = (node.index << below) / kTileWidth;
  t.width = TileWidthAt(t.level, t.index, tree_size);
  return t;
}

Hash NodeFromTile(const NodeId& node, const std::vector<Hash>& tile) {
  int below = node.level % kTileHeight;
  uint64_t first = (node.index << below) % kTileWidth;
  std::vector<Hash> level(tile.begin() + first,
                          tile.begin() + first + (uint64_t{1} << below));
  while (level.size() > 1) {
    std::vector<Hash> up;
    for (size_t i = 0; i < level.size(); i += 2) {
      up.push_back(HashChildren(level[i], level[i + 1]));
    }
    level = std::move(up);
  }
  return level[0];
}

std::string EncodeHashTile(const std::vector<Hash>& hashes) {
  std::string out;
  out.reserve(hashes.size() * Hash::kSize);
  for (const Hash& h : hashes) out.append(h.view().data(), Hash::kSize);
  return out;
}

absl::StatusOr<std::vector<Hash>> DecodeHashTile(absl::string_view data,
                                                 uint64_t width) {
  if (data.size() != width * Hash::kSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("a tile of width ", width, " is ", width * Hash::kSize,
                     " bytes, not ", data.size()));
  }
  std::vector<Hash> out;
  out.reserve(width);
  for (uint64_t i = 0; i < width; ++i) {
    out.push_back(
        Hash::FromBytesOrDie(data.substr(i * Hash::kSize, Hash::kSize)));
  }
  return out;
}

std::string EncodeEntryBundle(const std::vector<std::string>& entries) {
  std::string out;
  for (const std::string& e : entries) {
    AppendBigEndian(e.size(), 2, &out);
    out += e;
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> DecodeEntryList(absl::string_view data,
                                                         uint64_t max_entries) {
  std::vector<std::string> out;
  ByteReader r(data);
  while (!r.empty() && out.size() <= max_entries) {
    absl::string_view e;
    if (!r.ReadU16Prefixed(&e)) break;
    out.emplace_back(e);
  }
  if (r.failed() || !r.empty() || out.size() > max_entries) {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a list of at most ", max_entries, " length-prefixed entries"));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> DecodeEntryBundle(
    absl::string_view data, uint64_t width) {
  absl::StatusOr<std::vector<std::string>> out = DecodeEntryList(data, width);
  if (!out.ok() || out->size() != width) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the entry bundle does not hold exactly ", width, " entries"));
  }
  return out;
}

}  // namespace ktlog
