#include "log/tiles.h"

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace ktlog {

absl::StatusOr<std::string> Tiles::Checkpoint() const {
  std::shared_ptr<const PublishedCheckpoint> cp = publisher_->Latest();
  if (cp == nullptr) return absl::UnavailableError("no checkpoint yet");
  return cp->note;
}

absl::StatusOr<std::string> Tiles::Read(const TileId& id) const {
  std::shared_ptr<const PublishedCheckpoint> cp = publisher_->Latest();
  if (cp == nullptr) return absl::UnavailableError("no checkpoint yet");
  return Read(id, cp->checkpoint.size);
}

absl::StatusOr<std::string> Tiles::Read(const TileId& id,
                                        uint64_t tree_size) const {
  uint64_t have = TileWidthAt(id.entries ? 0 : id.level, id.index, tree_size);
  if (id.width > have || id.width == 0) {
    return absl::NotFoundError(
        absl::StrCat(id.Path(), " is not in the tree of size ", tree_size));
  }
  uint64_t first = id.index * kTileWidth;
  if (id.entries) {
    ASSIGN_OR_RETURN(std::vector<std::string> leaves,
                     storage_->ReadLeaves(first, first + id.width));
    return EncodeEntryBundle(leaves);
  }
  std::vector<NodeId> ids;
  ids.reserve(id.width);
  for (uint64_t i = 0; i < id.width; ++i) {
    ids.push_back(
        NodeId{static_cast<uint8_t>(id.level * kTileHeight), first + i});
  }
  ASSIGN_OR_RETURN(std::vector<Hash> hashes, storage_->ReadNodes(ids));
  return EncodeHashTile(hashes);
}

}  // namespace ktlog
