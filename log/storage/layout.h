// The log's data dir layout: every RocksDB key the log writes, built and
// parsed in one place. THIS IS ON-DISK FORMAT: changing how any key or value
// below is encoded makes existing data dirs unreadable. Change it only
// together with kDataDirFormat (LogStorage refuses a data dir of another
// format at open) and docs/operations.md ("Data directory").
//
// Integers are big-endian so that keys sort in numeric order; per-account
// keys start with the account's u16-length-prefixed id so that one account's
// keys are contiguous; versioned keys end in a u64 version (the tree size
// after the batch that wrote them), so the newest at or below a size is one
// SeekForPrev away.
#ifndef KTLOG_LOG_STORAGE_LAYOUT_H_
#define KTLOG_LOG_STORAGE_LAYOUT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "core/account/index_tree.h"
#include "core/crypto/hash.h"
#include "core/merkle/merkle.h"
#include "core/note/checkpoint.h"

namespace ktlog {
namespace layout {

// The format of the data dirs this code reads and writes, stored under
// FormatKey() as a u64. 1 was ktlog before the key layout was versioned; 2
// had public records as leaves; 3 was the private directory with versioned
// index nodes; 4 keeps only the latest index entries (the index is held in
// memory, log/index_versions.h); 5 stored account states with their records
// by reference (AccountState::EncodeByReference), no level-0 tree nodes (a
// leaf's hash is computed from the leaf) and no record hashes; 6 is 5 with
// account states of format 3, whose key chains reach back to the account's
// first record, and a key per signed checkpoint size; 7 is 6 whose account
// states may also be of format 4 (on security keys, by reference 0x84):
// LogStorage marks a format-6 data dir 7 when it opens it (nothing else
// changes); 8 is 7 that may hold erased accounts (ErasedKey below: an
// account's private data deleted, its public leaves kept), marked 8 when it
// is opened, and trust backups (BackupKey: a key no earlier server reads).
// Leaves commit to states, so a data dir of format 5 or older cannot be
// converted: LogStorage refuses it.
inline constexpr uint64_t kDataDirFormat = 8;

std::string FormatKey();      // "m/format"  -> u64 format
std::string IdentityKey();    // "m/identity" -> origin "\n" log key
std::string SizeKey();        // "m/size"     -> u64 committed tree size
std::string CheckpointKey();  // "m/checkpoint" -> latest signed note
// "m/purge" -> "": an erasure was committed and the data dir not compacted
// since (LogStorage::Purge deletes it once it has).
std::string PurgeKey();

// 'r' | u64 index -> the public leaf (core/account/leaf.h).
std::string LeafKey(uint64_t index);
std::optional<uint64_t> ParseLeafKey(absl::string_view key);

// 'e' | u64 index -> the private entry behind the leaf: u16+n record |
// record opening (16) | state opening (16). See PrivateEntry below.
std::string EntryKey(uint64_t index);

// 'h' | leaf hash (32) -> u64 leaf index.
std::string LeafHashKey(const Hash& leaf_hash);

// 'n' | u8 level | u64 index -> hash (32) of a complete subtree, level >= 1.
std::string NodeKey(const NodeId& id);
std::optional<NodeId> ParseNodeKey(absl::string_view key);

// Per account (u16 length | id):
//   'a' ... | u64 size    -> the AccountState after that batch, encoded
//                            by reference (its records are in the 'e' keys)
//   'v' ... | u64 version -> u64 leaf index of the record of that version
//   'q' ...               -> position (32) | VRF proof (80)
std::string AccountStatePrefix(absl::string_view account_id);
std::string AllAccountStatesPrefix();  // of every account's state keys
std::string HistoryPrefix(absl::string_view account_id);
std::string PositionKey(absl::string_view account_id);

//   'b' ...               -> the account's trust backup: u64 version of
//                            the record-backup record that named it ||
//                            the sealed bytes (core/backup/backup.h), the
//                            one PutBackup stored (log/backups.h)
std::string BackupKey(absl::string_view account_id);

// 'p' | position (32) -> u64 version | state commitment (32): the latest
// index entry of each position (the index is rebuilt from them at start).
std::string IndexEntryKey(const Hash& position);
std::string IndexEntryPrefix();

// 'x' | position (32) -> u64 version: the account at that position was
// erased on request when it was at that version (its 'e' entries and its
// 'a', 'v' and 'q' keys deleted; its leaves and index entry kept). Keyed
// by position so that no account id remains.
std::string ErasedKey(const Hash& position);
std::string ErasedPrefix();

// 'i' | u64 size -> index root (32) after the batch that ended at size.
std::string IndexRootPrefix();
std::string IndexRootKey(uint64_t size);
std::optional<uint64_t> ParseIndexRootKey(absl::string_view key);

// 'k' | u64 size -> "" for every size a checkpoint was signed at: lookups
// and histories are answered only at those sizes (a client can verify
// nothing else).
std::string SignedSizeKey(uint64_t size);

// 'w' | u64 size | u64 timestamp | SHA-256(body) -> the checkpoint note with
// the witnesses' latest cosignatures; newest (by size, then time) last.
std::string CosignedPrefix();
std::string CosignedKey(const LogCheckpoint& cp, absl::string_view body);
// A key after every cosigned key (for reverse iteration).
std::string CosignedEnd();

// A versioned key: `prefix` | u64 version.
std::string Versioned(absl::string_view prefix, uint64_t version);
// The version of `key` if it is `prefix` followed by exactly 8 bytes.
std::optional<uint64_t> ParseVersioned(absl::string_view key,
                                       absl::string_view prefix);

// u64 values (sizes, leaf indexes, the format).
std::string U64Value(uint64_t v);
std::optional<uint64_t> ParseU64Value(absl::string_view value);

}  // namespace layout
}  // namespace ktlog

#endif  // KTLOG_LOG_STORAGE_LAYOUT_H_
