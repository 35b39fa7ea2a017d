// Test-only: the breached operator (docs/threat-model.md). Whoever holds the
// provider's servers holds every key the log has and its data dir; the
// server serves and signs whatever that data dir holds. This tool appends,
// to a stopped server's data dir, leaves that the account rules would never
// give, in the one history (every public check still holds: each position's
// versions go up by one, the index root is recomputed, so a witness that
// sees only public data cosigns them once the server restarts):
//
//   breach --data_dir=DIR --account=ID --attack=predecessor
//     The security review's attack (issue 27, 1): a key K_fake the log
//     makes up; the account's next version is an add-device of the
//     attacker's device "intercept" signed by K_fake and dated version 1,
//     the one after it a rotation from K_fake to the account's current key
//     (signed by K_fake); the state keeps the current key, holds the
//     device and lists that rotation in the key chain.
//   breach --data_dir=DIR --account=ID --attack=reset
//     The account reset (issue 27, 9): the next version adds "intercept"
//     signed by a new key K_evil, and the state has K_evil as the account
//     key and "intercept" as its only device.
//   breach --data_dir=DIR --account=ID --attack=keep_backup --backup_file=F
//   breach --data_dir=DIR --account=ID --attack=plant_backup --backup_file=F
//     The trust backup rollback (docs/backup.md): keep a copy of the
//     account's stored backup in F, and later put it back in place of the
//     newer one the owner uploaded since, to hand to a restoring phone.
//
// Prints the number of leaves appended (0 for the backup attacks). Exit 1
// with a message on error.
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "core/account/account.h"
#include "core/account/commitment.h"
#include "core/account/index_tree.h"
#include "core/account/leaf.h"
#include "core/crypto/crypto.h"
#include "core/merkle/compact_range.h"
#include "core/merkle/merkle.h"
#include "core/util/clock.h"
#include "core/util/file_util.h"
#include "core/util/flags.h"
#include "core/util/status_macros.h"
#include "log/storage/log_storage.h"

namespace ktlog {
namespace {

// A forged version of the account: the record its leaf commits to, and the
// state the log claims after it.
struct Forged {
  std::string record;
  AccountState state;
};

DeviceRecord Signed(DeviceRecord r, const Ed25519PrivateKey& key) {
  r.timestamp_ms = RealClock::Get()->NowMillis();
  r.Sign(key);
  return r;
}

std::vector<Forged> MadeUpPredecessor(const AccountState& real, uint64_t size) {
  Ed25519PrivateKey fake = Ed25519PrivateKey::Generate();
  DeviceRecord device;
  device.operation = Operation::kAddDevice;
  device.account_id = real.account_id;
  device.device_id = "intercept";
  device.key = RandomBytes(32);
  device.account_version = 1;  // "as old as the account"
  device = Signed(device, fake);
  DeviceRecord rotation;
  rotation.operation = Operation::kRotateAccountKey;
  rotation.account_id = real.account_id;
  rotation.key = real.account_key;
  rotation.account_version = real.version + 2;
  rotation = Signed(rotation, fake);
  AccountState first = real;
  first.version = real.version + 1;
  first.devices["intercept"] =
      ActiveDevice{device.key, size, 1, device.Encode()};
  AccountState second = first;
  second.version = real.version + 2;
  second.key_chain.push_back(
      ChainedRotation{size + 1, rotation.account_version, rotation.Encode()});
  return {{device.Encode(), first}, {rotation.Encode(), second}};
}

std::vector<Forged> Reset(const AccountState& real, uint64_t size) {
  Ed25519PrivateKey evil = Ed25519PrivateKey::Generate();
  DeviceRecord device;
  device.operation = Operation::kAddDevice;
  device.account_id = real.account_id;
  device.device_id = "intercept";
  device.key = RandomBytes(32);
  device.account_version = real.version + 1;
  device = Signed(device, evil);
  AccountState reset = real;
  reset.account_key = evil.public_key().bytes();
  reset.version = real.version + 1;
  reset.devices.clear();
  reset.devices["intercept"] =
      ActiveDevice{device.key, size, reset.version, device.Encode()};
  reset.key_chain.clear();
  return {{device.Encode(), reset}};
}

absl::StatusOr<uint64_t> LastLeafTime(LogStorage* storage) {
  if (storage->size() == 0) return 0;
  ASSIGN_OR_RETURN(std::vector<std::string> last,
                   storage->ReadLeaves(storage->size() - 1, storage->size()));
  ASSIGN_OR_RETURN(Leaf leaf, DecodeLeaf(last[0]));
  return leaf.timestamp_ms;
}

// Appends `forged` as the account's next versions, as the integrator would
// have stored them.
absl::Status Append(LogStorage* storage, const std::string& account,
                    const std::vector<Forged>& forged) {
  uint64_t size = storage->size();
  ASSIGN_OR_RETURN(std::optional<AccountPosition> position,
                   storage->ReadPosition(account));
  if (!position.has_value()) return absl::NotFoundError("no such account");
  ASSIGN_OR_RETURN(std::vector<Hash> hashes, storage->ReadCompactRange(size));
  ASSIGN_OR_RETURN(CompactRange range,
                   CompactRange::FromHashes(size, std::move(hashes)));
  ASSIGN_OR_RETURN(uint64_t time_ms, LastLeafTime(storage));
  std::map<Hash, Hash> index;
  RETURN_IF_ERROR(storage->ReadIndexEntries([&](const IndexEntry& e) {
    index[e.position] = e.value_hash();
    return absl::OkStatus();
  }));
  StorageBatch b;
  b.begin = size;
  for (const Forged& f : forged) {
    uint64_t version = f.state.version;
    PrivateEntry entry{f.record, NewOpening(), NewOpening()};
    time_ms = std::max(time_ms + 1, RealClock::Get()->NowMillis());
    Leaf leaf{position->position, version, time_ms,
              Commit(entry.record_opening, CommitmentKind::kRecord, account,
                     version, f.record),
              Commit(entry.state_opening, CommitmentKind::kState, account,
                     version, f.state.Encode())};
    std::string bytes = leaf.Encode();
    Hash leaf_hash = HashLeaf(bytes);
    range.Append(leaf_hash, [&b](const NodeId& node, const Hash& h) {
      b.nodes.emplace_back(node, h);
    });
    b.history.push_back(HistoryEntry{account, version, b.end()});
    b.leaves.push_back(std::move(bytes));
    b.leaf_hashes.push_back(leaf_hash);
    b.entries.push_back(std::move(entry));
    b.index_entries = {
        IndexEntry{leaf.position, version, leaf.state_commitment}};
    index[leaf.position] = IndexEntryOf(leaf).second;
  }
  b.accounts = {forged.back().state};
  b.index_root = NaiveIndexRoot(index);
  return storage->CommitBatch(b);
}

absl::Status Run(const std::string& dir, const std::string& account,
                 const std::string& attack, const std::string& backup_file) {
  ASSIGN_OR_RETURN(std::unique_ptr<LogStorage> storage, LogStorage::Open(dir));
  if (attack == "keep_backup") {
    ASSIGN_OR_RETURN(std::optional<std::string> sealed,
                     storage->ReadBackup(account));
    if (!sealed.has_value()) return absl::NotFoundError("no stored backup");
    RETURN_IF_ERROR(WriteFileAtomically(backup_file, *sealed, 0600));
    std::cout << "0\n";
    return absl::OkStatus();
  }
  if (attack == "plant_backup") {
    // The copy kept, under the current copy's record version: the honest
    // server's own check (a later record than the copy's) passes, as a
    // breached operator's server would let it.
    ASSIGN_OR_RETURN(std::string kept, ReadFileBounded(backup_file, 1 << 20));
    ASSIGN_OR_RETURN(std::optional<std::string> current,
                     storage->ReadBackup(account));
    if (!current.has_value() || current->size() < 8 || kept.size() < 8) {
      return absl::NotFoundError("no stored backup to replace");
    }
    RETURN_IF_ERROR(
        storage->WriteBackup(account, current->substr(0, 8) + kept.substr(8)));
    std::cout << "0\n";
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::optional<AccountState> real,
                   storage->ReadAccount(account, storage->size()));
  if (!real.has_value()) {
    return absl::NotFoundError(absl::StrCat(account, " is not in the log"));
  }
  std::vector<Forged> forged;
  if (attack == "predecessor") {
    forged = MadeUpPredecessor(*real, storage->size());
  } else if (attack == "reset") {
    forged = Reset(*real, storage->size());
  } else {
    return absl::InvalidArgumentError(
        "--attack is predecessor, reset, keep_backup or plant_backup");
  }
  RETURN_IF_ERROR(Append(storage.get(), account, forged));
  std::cout << forged.size() << "\n";
  return absl::OkStatus();
}

}  // namespace
}  // namespace ktlog

int main(int argc, char** argv) {
  std::string dir, account, attack, backup_file;
  ktlog::FlagSet flags(
      "usage: breach --data_dir=DIR --account=ID "
      "--attack=predecessor|reset|keep_backup|plant_backup "
      "[--backup_file=F]");
  flags.String("data_dir", &dir, "a stopped server's data dir");
  flags.String("account", &account, "the victim's account id");
  flags.String("attack", &attack,
               "predecessor, reset, keep_backup or plant_backup");
  flags.String("backup_file", &backup_file,
               "keep_backup, plant_backup: where the copy is kept");
  std::vector<std::string> args;
  int exit_code;
  if (!ktlog::ParseMainFlags(flags, argc, argv, "breach", &args, &exit_code)) {
    return exit_code;
  }
  absl::Status s = ktlog::Run(dir, account, attack, backup_file);
  if (!s.ok()) {
    std::cerr << "breach: " << s << "\n";
    return 1;
  }
  return 0;
}
