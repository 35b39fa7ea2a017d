// Test-only: a ktlog log held in memory that commits to whatever it is
// given (a record the account key did not sign, a state the rules would not
// give), so verifier tests and fuzzers can build honest and dishonest
// answers without a server. It is a LogSource at its latest tree only.
#ifndef KTLOG_VERIFIER_MEMORY_LOG_H_
#define KTLOG_VERIFIER_MEMORY_LOG_H_

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "core/account/account.h"
#include "core/account/commitment.h"
#include "core/account/index.h"
#include "core/account/index_tree.h"
#include "core/account/leaf.h"
#include "core/account/owner_access.h"
#include "core/account/record.h"
#include "core/account/replay.h"
#include "core/crypto/vrf.h"
#include "core/merkle/merkle.h"
#include "core/note/checkpoint.h"
#include "core/note/log_key.h"
#include "core/note/note.h"
#include "core/testonly/reference_tree.h"
#include "core/util/clock.h"
#include "verifier/log_source.h"

namespace ktlog {

// A log in memory that commits to whatever it is given.
class MemoryLog : public LogSource {
 public:
  // With a `vrf_seed` (32 bytes) the positions are the same in every run
  // (fuzzers); without, a fresh VRF key.
  explicit MemoryLog(const std::string& vrf_seed = "")
      : vrf_(vrf_seed.empty() ? VrfPrivateKey::Generate()
                              : *VrfPrivateKey::FromSeed(vrf_seed)),
        signer_(*NoteSigner::Generate("memory.example/log")) {}

  // Appends a leaf committing to `record` and to `state` (the state after
  // it, as the log claims).
  void Append(const DeviceRecord& record, const AccountState& state) {
    AppendBytes(record.account_id, record.Encode(), state);
  }
  // The same for any bytes, well-formed or not.
  void AppendBytes(const std::string& id, const std::string& record,
                   const AccountState& state) {
    Entry e{record, NewOpening(), NewOpening(), state};
    Leaf leaf{Position(id), state.version, ++time_ms_,
              Commit(e.record_opening, CommitmentKind::kRecord, id,
                     state.version, e.record),
              Commit(e.state_opening, CommitmentKind::kState, id, state.version,
                     state.Encode())};
    e.leaf = leaf.Encode();
    tree_.AppendLeafHash(HashLeaf(e.leaf));
    index_[leaf.position] = IndexEntryOf(leaf).second;
    history_[id].push_back(entries_.size());
    entries_.push_back(std::move(e));
  }

  // Erases `id` on request as the server does: appends its erasure leaf
  // (one version after its last); its lookups then carry that leaf
  // (AccountLookupAnswer::erased_leaf) and nothing else.
  void Erase(const std::string& id) {
    Leaf leaf{Position(id), entries_[history_.at(id).back()].state.version + 1,
              ++time_ms_, ErasedCommitment(), ErasedCommitment()};
    Entry e;
    e.leaf = leaf.Encode();
    tree_.AppendLeafHash(HashLeaf(e.leaf));
    index_[leaf.position] = IndexEntryOf(leaf).second;
    erased_[id] = e.leaf;
    entries_.push_back(std::move(e));
  }

  // The honest log's write path: appends the record `bytes` if its
  // signature and the account rules accept it, as the server does (the
  // same record again is ALREADY_EXISTS). Its leaf index and leaf hash, or
  // the rules' status.
  absl::StatusOr<std::pair<uint64_t, Hash>> Submit(const std::string& bytes) {
    absl::StatusOr<DeviceRecord> record = DecodeRecord(bytes);
    if (!record.ok()) return record.status();
    if (absl::Status s = record->VerifySignature(); !s.ok()) return s;
    AccountState state;
    if (auto h = history_.find(record->account_id); h != history_.end()) {
      for (uint64_t i : h->second) {
        if (entries_[i].record == bytes) {
          return absl::AlreadyExistsError("the record is already in the log");
        }
      }
      state = entries_[h->second.back()].state;
    }
    uint64_t index = tree_.size();
    if (absl::Status s = ApplyRecord(*record, index, &state); !s.ok()) return s;
    Append(*record, state);
    return std::make_pair(index, HashLeaf(entries_.back().leaf));
  }

  LogCheckpoint Checkpoint() const {
    LogCheckpoint cp;
    cp.origin = "memory.example/log";
    cp.size = tree_.size();
    cp.root = tree_.Root(cp.size);
    cp.index_root = NaiveIndexRoot(index_);
    return cp;
  }

  AccountHistoryAnswer History(const std::string& id) const {
    AccountHistoryAnswer out;
    out.tree_size = tree_.size();
    out.vrf_proof = vrf_.Prove(AccountVrfInput(id))->proof;
    for (uint64_t i : history_.at(id)) {
      const Entry& e = entries_[i];
      out.entries.push_back(
          HistoryEntryAnswer{i, e.leaf, tree_.InclusionProof(i, tree_.size()),
                             e.record, e.record_opening, e.state_opening});
    }
    return out;
  }

  // The lookup of `id`, with its first-record anchor (the account's
  // version-1 entry) if `with_first_record`.
  AccountLookupAnswer Lookup(const std::string& id,
                             bool with_first_record = true) const {
    AccountLookupAnswer out;
    out.tree_size = tree_.size();
    out.vrf_proof = vrf_.Prove(AccountVrfInput(id))->proof;
    absl::StatusOr<IndexSnapshot> index = IndexSnapshot::Build(
        std::vector<std::pair<Hash, Hash>>(index_.begin(), index_.end()));
    if (!index.ok()) abort();
    std::optional<Hash> value;
    out.index_proof = index->Prove(Position(id), &value).Encode();
    if (auto erased = erased_.find(id); erased != erased_.end()) {
      out.erased_leaf = erased->second;
      return out;
    }
    auto h = history_.find(id);
    if (h == history_.end()) return out;  // absent
    auto shown = shown_.find(id);
    const Entry& last =
        entries_[shown != shown_.end() ? shown->second : h->second.back()];
    out.account_state = last.state.Encode();
    out.state_opening = last.state_opening;
    if (with_first_record) {
      uint64_t i = h->second.front();
      const Entry& e = entries_[i];
      out.first_record = HistoryEntryAnswer{
          i,        e.leaf,           tree_.InclusionProof(i, tree_.size()),
          e.record, e.record_opening, ""};
    }
    return out;
  }

  // What an auditor checks: every leaf decodes and its position's versions
  // go 1, 2, 3, ...; and the index it recomputes matches the checkpoint.
  absl::Status Audit() const {
    struct None : VersionSource {
      absl::StatusOr<uint64_t> LoadVersion(const Hash&) override { return 0; }
    } none;
    LeafReplay replay(&none, 0);
    for (const Entry& e : entries_) {
      absl::StatusOr<Leaf> leaf = DecodeLeaf(e.leaf);
      if (!leaf.ok()) return leaf.status();
      if (absl::Status s = replay.Load(leaf->position); !s.ok()) return s;
      if (absl::Status s = replay.Apply(*leaf); !s.ok()) return s;
    }
    absl::StatusOr<IndexSnapshot> index =
        IndexSnapshot().Apply(replay.IndexChanges());
    if (!index.ok() || index->root() != Checkpoint().index_root) {
      return absl::DataLossError("index root mismatch");
    }
    return absl::OkStatus();
  }

  // A log that shows an account's older version: the index maps its
  // position back to the leaf of `version` (no leaf is appended for it; an
  // auditor would find the index root wrong, a client alone cannot).
  void RollBack(const std::string& id, uint64_t version) {
    uint64_t i = history_.at(id)[version - 1];
    index_[Position(id)] = IndexEntryOf(*DecodeLeaf(entries_[i].leaf)).second;
    shown_[id] = i;
  }

  // LogSource, at the latest tree only.
  absl::StatusOr<std::string> GetCheckpoint(
      uint32_t, const std::vector<std::string>&) override {
    LogCheckpoint cp = Checkpoint();
    cp.timestamp_ms = RealClock::Get()->NowMillis();
    return SignLogCheckpoint(cp, signer_);
  }
  absl::StatusOr<std::vector<Hash>> GetConsistencyProof(uint64_t a,
                                                        uint64_t b) override {
    return tree_.ConsistencyProof(a, b);
  }
  absl::StatusOr<AccountLookupAnswer> LookupAccount(
      const std::string& id, uint64_t size, bool with_first_record) override {
    if (size != tree_.size()) return absl::NotFoundError("not the latest");
    return Lookup(id, with_first_record);
  }
  // Serves only the owner, as the server does: a request the access key
  // signed, granted by an authority of the account's latest state (the
  // clock and replays are not checked here).
  absl::StatusOr<AccountHistoryAnswer> GetAccountHistory(
      const std::string& id, uint64_t from, uint64_t size,
      const OwnerProof& owner) override {
    if (size != tree_.size()) return absl::NotFoundError("not the latest");
    auto account = history_.find(id);
    if (account == history_.end() ||
        !VerifyHistoryRequest(owner, "memory.example/log", id, from, size)
             .ok() ||
        !VerifyOwnerGrant(entries_[account->second.back()].state,
                          "memory.example/log", owner.access_key, owner.grant)
             .ok()) {
      return absl::PermissionDeniedError("not the owner");
    }
    AccountHistoryAnswer h = History(id);
    h.entries.erase(h.entries.begin(), h.entries.begin() + (from - 1));
    return h;
  }

  std::string LogKey() const {
    return LogPublicKey{signer_.verifier_key(), vrf_.public_key()}.ToString();
  }
  const VrfPublicKey& vrf_key() const { return vrf_.public_key(); }

 private:
  struct Entry {
    std::string record, record_opening, state_opening;
    AccountState state;
    std::string leaf;
  };
  Hash Position(const std::string& id) const {
    return vrf_.Prove(AccountVrfInput(id))->output;
  }

  std::map<std::string, std::string> erased_;  // id -> its erasure leaf
  VrfPrivateKey vrf_;
  NoteSigner signer_;
  uint64_t time_ms_ = 1000;
  ReferenceTree tree_;
  std::vector<Entry> entries_;
  std::map<std::string, std::vector<uint64_t>> history_;
  std::map<Hash, Hash> index_;
  std::map<std::string, uint64_t> shown_;  // id -> entry index (RollBack)
};

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_MEMORY_LOG_H_
