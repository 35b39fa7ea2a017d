#include "log/storage/layout.h"

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"

namespace ktlog {
namespace layout {
namespace {

constexpr char kLeaf = 'r';
constexpr char kEntry = 'e';
constexpr char kLeafHash = 'h';
constexpr char kNode = 'n';
constexpr char kAccountState = 'a';
constexpr char kHistory = 'v';
constexpr char kPosition = 'q';
constexpr char kIndexEntry = 'p';
constexpr char kIndexRoot = 'i';
constexpr char kCosigned = 'w';
constexpr char kSignedSize = 'k';
constexpr char kErased = 'x';
constexpr char kBackup = 'b';

std::string Tagged(char tag, uint64_t v) {
  std::string k(1, tag);
  AppendBigEndian(v, 8, &k);
  return k;
}

std::string PerAccount(char tag, absl::string_view account_id) {
  std::string k(1, tag);
  AppendBigEndian(account_id.size(), 2, &k);
  absl::StrAppend(&k, account_id);
  return k;
}

std::optional<uint64_t> ParseTagged(char tag, absl::string_view key) {
  if (key.size() != 9 || key[0] != tag) return std::nullopt;
  return ReadBigEndian(key.substr(1), 8);
}

}  // namespace

std::string FormatKey() { return "m/format"; }
std::string IdentityKey() { return "m/identity"; }
std::string SizeKey() { return "m/size"; }
std::string CheckpointKey() { return "m/checkpoint"; }
std::string PurgeKey() { return "m/purge"; }

std::string LeafKey(uint64_t index) { return Tagged(kLeaf, index); }
std::optional<uint64_t> ParseLeafKey(absl::string_view key) {
  return ParseTagged(kLeaf, key);
}

std::string EntryKey(uint64_t index) { return Tagged(kEntry, index); }

std::string LeafHashKey(const Hash& leaf_hash) {
  return absl::StrCat(absl::string_view(&kLeafHash, 1), leaf_hash.view());
}

std::string NodeKey(const NodeId& id) {
  std::string k(1, kNode);
  k.push_back(static_cast<char>(id.level));
  AppendBigEndian(id.index, 8, &k);
  return k;
}

std::optional<NodeId> ParseNodeKey(absl::string_view key) {
  if (key.size() != 10 || key[0] != kNode) return std::nullopt;
  NodeId id;
  id.level = static_cast<uint8_t>(key[1]);
  id.index = ReadBigEndian(key.substr(2), 8);
  return id;
}

std::string AccountStatePrefix(absl::string_view account_id) {
  return PerAccount(kAccountState, account_id);
}
std::string AllAccountStatesPrefix() { return std::string(1, kAccountState); }
std::string HistoryPrefix(absl::string_view account_id) {
  return PerAccount(kHistory, account_id);
}
std::string PositionKey(absl::string_view account_id) {
  return PerAccount(kPosition, account_id);
}

std::string IndexEntryKey(const Hash& position) {
  return absl::StrCat(absl::string_view(&kIndexEntry, 1), position.view());
}
std::string IndexEntryPrefix() { return std::string(1, kIndexEntry); }

std::string BackupKey(absl::string_view account_id) {
  return PerAccount(kBackup, account_id);
}

std::string ErasedKey(const Hash& position) {
  return absl::StrCat(absl::string_view(&kErased, 1), position.view());
}
std::string ErasedPrefix() { return std::string(1, kErased); }

std::string IndexRootPrefix() { return std::string(1, kIndexRoot); }
std::string IndexRootKey(uint64_t size) { return Tagged(kIndexRoot, size); }
std::optional<uint64_t> ParseIndexRootKey(absl::string_view key) {
  return ParseTagged(kIndexRoot, key);
}

std::string SignedSizeKey(uint64_t size) { return Tagged(kSignedSize, size); }

std::string CosignedPrefix() { return std::string(1, kCosigned); }

std::string CosignedKey(const LogCheckpoint& cp, absl::string_view body) {
  std::string k(1, kCosigned);
  AppendBigEndian(cp.size, 8, &k);
  AppendBigEndian(cp.timestamp_ms, 8, &k);
  absl::StrAppend(&k, Sha256(body).view());
  return k;
}

std::string CosignedEnd() {
  return CosignedPrefix() + std::string(8 + 8 + Hash::kSize + 1, '\xff');
}

std::string Versioned(absl::string_view prefix, uint64_t version) {
  std::string k(prefix);
  AppendBigEndian(version, 8, &k);
  return k;
}

std::optional<uint64_t> ParseVersioned(absl::string_view key,
                                       absl::string_view prefix) {
  if (key.size() != prefix.size() + 8 || key.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  return ReadBigEndian(key.substr(prefix.size()), 8);
}

std::string U64Value(uint64_t v) {
  std::string s;
  AppendBigEndian(v, 8, &s);
  return s;
}

std::optional<uint64_t> ParseU64Value(absl::string_view value) {
  if (value.size() != 8) return std::nullopt;
  return ReadBigEndian(value, 8);
}

}  // namespace layout
}  // namespace ktlog
