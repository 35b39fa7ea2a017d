#include "verifier/account_monitor.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/account/security_key.h"
#include "core/crypto/crypto.h"
#include "core/merkle/merkle.h"
#include "core/util/bytes.h"
#include "core/util/json_util.h"
#include "core/util/status_macros.h"
#include "verifier/refusal.h"

namespace ktlog {
namespace {

nlohmann::json EntryJson(const HistoryEntryAnswer& e) {
  return {{"leaf_index", e.leaf_index},
          {"leaf", HexEncode(e.leaf)},
          {"inclusion_proof", HashesToJson(e.inclusion_proof)},
          {"record", HexEncode(e.record)},
          {"record_opening", HexEncode(e.record_opening)},
          {"state_opening", HexEncode(e.state_opening)}};
}

nlohmann::json LookupJson(const AccountLookupAnswer& a) {
  nlohmann::json j = {{"tree_size", a.tree_size},
                      {"vrf_proof", HexEncode(a.vrf_proof)},
                      {"index_proof", HexEncode(a.index_proof)},
                      {"account_state", HexEncode(a.account_state)},
                      {"state_opening", HexEncode(a.state_opening)}};
  if (a.first_record.has_value())
    j["first_record"] = EntryJson(*a.first_record);
  return j;
}

nlohmann::json HistoryJson(const AccountHistoryAnswer& a) {
  nlohmann::json entries = nlohmann::json::array();
  for (const HistoryEntryAnswer& e : a.entries) entries.push_back(EntryJson(e));
  return {{"tree_size", a.tree_size},
          {"vrf_proof", HexEncode(a.vrf_proof)},
          {"entries", entries},
          {"next_version", a.next_version}};
}

std::string Short(const std::string& key) {
  return HexEncode(key).substr(0, 16);
}

}  // namespace
std::string AccountMonitor::KnownFirstKey(const std::string& account) const {
  if (account == state_->account_id && state_->own_state.exists()) {
    return state_->own_state.first_key;
  }
  auto contact = state_->contacts.find(account);
  return contact == state_->contacts.end() ? "" : contact->second.first_key;
}

absl::StatusOr<VerifiedAccount> AccountMonitor::Lookup(
    const LogCheckpoint& checkpoint, const std::string& account) {
  return Verify(checkpoint, account,
                log_->LookupAccount(account, checkpoint.size,
                                    KnownFirstKey(account).empty()));
}

absl::Status AccountMonitor::NotChecked(const std::string& id,
                                        const absl::Status& why) {
  // The log's own DATA_LOSS or UNAUTHENTICATED would read as a verification
  // failure (ktctl's exit 3) with no alert behind it.
  absl::StatusCode code = why.code();
  if (code == absl::StatusCode::kDataLoss ||
      code == absl::StatusCode::kUnauthenticated) {
    code = absl::StatusCode::kUnknown;
  }
  return absl::Status(
      code, absl::StrCat("contact ", id, " was not checked: ", why.message()));
}

absl::StatusOr<VerifiedAccount> AccountMonitor::Verify(
    const LogCheckpoint& checkpoint, const std::string& account,
    absl::StatusOr<AccountLookupAnswer> fetched) {
  ASSIGN_OR_RETURN(LogPublicKey key, PinnedLogKey(*state_));
  ASSIGN_OR_RETURN(AccountLookupAnswer answer, std::move(fetched));
  absl::StatusOr<VerifiedAccount> verified = VerifyAccountLookup(
      checkpoint, key.vrf_key, account, answer, KnownFirstKey(account));
  if (!verified.ok()) {
    return alerts_->Refuse(
        RefusalOf(verified.status()), verified.status(), account,
        Sha256(JsonText(LookupJson(answer))).ToHex(),
        absl::StrCat("the log's answer about ", account,
                     " does not verify: ", verified.status().message()),
        {{"checkpoint", state_->trusted_checkpoint},
         {"lookup", LookupJson(answer)}});
  }
  auto contact = state_->contacts.find(account);
  if (verified->state.has_value() && contact != state_->contacts.end() &&
      contact->second.first_key.empty()) {
    contact->second.first_key = verified->state->first_key;
  }
  return verified;
}

absl::StatusOr<std::vector<AccountMonitor::HistoryItem>>
AccountMonitor::ReplayHistory(const LogCheckpoint& checkpoint,
                              const std::string& id, const AccountState& proved,
                              AccountState* replay) {
  ASSIGN_OR_RETURN(LogPublicKey key, PinnedLogKey(*state_));
  std::vector<HistoryItem> out;
  if (!replay->exists()) replay->account_id = id;
  for (uint64_t next = replay->version + 1;
       next != 0 && replay->version < proved.version;) {
    absl::StatusOr<AccountHistoryAnswer> page =
        HistoryPage(id, next, checkpoint.size);
    if (!page.ok()) {
      // The index proved the account at this size: an honest log serves its
      // history. A refusal that is not the transport's contradicts it.
      const absl::Status& s = page.status();
      if (absl::IsNotFound(s) || absl::IsInvalidArgument(s) ||
          absl::IsOutOfRange(s)) {
        return alerts_->Refuse(
            Refusal::kInconsistentAccount, s, id,
            absl::StrCat(CheckpointId(checkpoint), "|", next, "|refused"),
            absl::StrCat("the log proves ", id, " at version ", proved.version,
                         " but refuses its history from "
                         "version ",
                         next, ": ", s.message()),
            {{"checkpoint", state_->trusted_checkpoint},
             {"proved_version", proved.version},
             {"error", s.ToString()}});
      }
      return s;
    }
    uint64_t before = replay->version;
    absl::StatusOr<std::vector<VerifiedDevice>> records =
        VerifyAccountHistory(checkpoint, key.vrf_key, id, *page, replay);
    if (!records.ok()) {
      return alerts_->Refuse(
          RefusalOf(records.status()), records.status(), id,
          absl::StrCat(CheckpointId(checkpoint), "|", next),
          absl::StrCat("the history of ", id,
                       " does not verify: ", records.status().message()),
          {{"checkpoint", state_->trusted_checkpoint},
           {"history", HistoryJson(*page)}});
    }
    for (size_t i = 0; i < records->size(); ++i) {
      out.push_back(HistoryItem{std::move((*records)[i]), page->entries[i],
                                page->vrf_proof});
    }
    next = page->next_version;
    if (replay->version == before) break;  // no progress: stop
  }
  if (!(*replay == proved)) {
    return alerts_->Refuse(
        Refusal::kInconsistentAccount,
        absl::DataLossError("history and index disagree"), id,
        CheckpointId(checkpoint) + "|replay",
        absl::StrCat("the history of ", id,
                     " does not lead to the state the index proves"),
        {{"checkpoint", state_->trusted_checkpoint}});
  }
  return out;
}

absl::StatusOr<AccountHistoryAnswer> AccountMonitor::HistoryPage(
    const std::string& id, uint64_t from_version, uint64_t tree_size) {
  const std::string& in_force = state_->access_grant;
  const std::string& next = state_->next_access_grant;
  absl::StatusOr<AccountHistoryAnswer> page =
      absl::PermissionDeniedError("no grant");
  if (!in_force.empty() || next.empty()) {
    ASSIGN_OR_RETURN(OwnerProof owner,
                     OwnerProofFor(id, from_version, tree_size, in_force));
    page = log_->GetAccountHistory(id, from_version, tree_size, owner);
    if (!absl::IsPermissionDenied(page.status()) || next.empty()) return page;
  }
  // A reset of this client's on its way: the grant by its key. It replaces
  // the one in force only once a verified lookup shows the reset
  // (PromoteNextGrant), never on the log's word.
  ASSIGN_OR_RETURN(OwnerProof owner,
                   OwnerProofFor(id, from_version, tree_size, next));
  absl::StatusOr<AccountHistoryAnswer> retried =
      log_->GetAccountHistory(id, from_version, tree_size, owner);
  return retried.ok() || in_force.empty() ? retried : page;
}

bool AccountMonitor::GrantValid(const AccountState& state,
                                const std::string& grant) const {
  absl::StatusOr<LogPublicKey> key = PinnedLogKey(*state_);
  absl::StatusOr<Ed25519PrivateKey> access =
      Ed25519PrivateKey::FromSeed(state_->access_seed);
  return key.ok() && access.ok() && !grant.empty() &&
         VerifyOwnerGrant(state, key->checkpoint_key.name,
                          access->public_key().bytes(), grant)
             .ok();
}

void AccountMonitor::PromoteNextGrant(const AccountState& now) {
  if (state_->next_access_grant.empty() ||
      !GrantValid(now, state_->next_access_grant) ||
      GrantValid(now, state_->access_grant)) {
    return;
  }
  state_->access_grant = std::move(state_->next_access_grant);
  state_->next_access_grant.clear();
}

absl::StatusOr<OwnerProof> AccountMonitor::OwnerProofFor(
    const std::string& id, uint64_t from_version, uint64_t tree_size,
    const std::string& grant) {
  if (id != state_->account_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the log serves an account's history only to its owner, and ", id,
        " is not the account of this client: its lookup shows its verified "
        "current state"));
  }
  if (grant.empty() ||
      state_->access_seed.size() != Ed25519PrivateKey::kSeedSize) {
    return absl::FailedPreconditionError(
        "this client holds no grant to read its account's history (it was "
        "set up before grants, and the account is on security keys): run a "
        "command with --security_key=<one of the account's keys> and touch "
        "it once");
  }
  ASSIGN_OR_RETURN(LogPublicKey key, PinnedLogKey(*state_));
  ASSIGN_OR_RETURN(Ed25519PrivateKey access,
                   Ed25519PrivateKey::FromSeed(state_->access_seed));
  last_request_ms_ = std::max(clock_->NowMillis(), last_request_ms_ + 1);
  return SignHistoryRequest(access, grant, key.checkpoint_key.name, id,
                            from_version, tree_size, last_request_ms_);
}

bool AccountMonitor::ReportResetShutOut(const VerifiedAccount& now) {
  // Only a reset ends a grant: while one of this client's grants is valid
  // for the verified state, a refusal is the log's doing.
  if (GrantValid(*now.state, state_->access_grant) ||
      GrantValid(*now.state, state_->next_access_grant)) {
    return false;
  }
  const ChainedRotation* reset = nullptr;
  DeviceRecord record;
  for (const ChainedRotation& change : now.state->key_chain) {
    absl::StatusOr<DeviceRecord> r = DecodeRecord(change.record);
    if (r.ok() && r->operation == Operation::kResetAccount) {
      reset = &change;
      record = *std::move(r);
    }
  }
  if (reset == nullptr) return false;
  const std::string& id = state_->account_id;
  const std::string hash = Sha256(reset->record).ToHex();
  const std::string hex = HexEncode(reset->record);
  bool reported = std::any_of(
      state_->alerts.begin(), state_->alerts.end(), [&](const Alert& a) {
        return a.type == AlertType::kAccountReset && a.account == id &&
               a.evidence.value("reset_record", "") == hex;
      });
  if (reported) return true;  // shut out since: the same refusal
  // Only a reset after what this client verified, and not its own.
  if (reset->version <= state_->own_state.version ||
      state_->pending_own.count(hash) > 0) {
    return false;
  }
  std::vector<std::string> devices;
  for (const auto& [device_id, d] : now.state->devices) {
    devices.push_back(absl::StrCat("\"", device_id, "\""));
  }
  alerts_->Raise(
      AlertType::kAccountReset, id, hash,
      absl::StrCat("your account was reset at leaf ", reset->leaf_index,
                   " (version ", reset->version,
                   ") with the log operator's credential, not by you: every "
                   "device was removed, this client can no longer read its "
                   "history, and whoever holds key ",
                   Short(record.key),
                   "… controls your account (its devices now: ",
                   devices.empty() ? "none" : absl::StrJoin(devices, ", "),
                   "); tell your contacts and the operator"),
      {{"checkpoint", state_->trusted_checkpoint},
       {"reset_leaf_index", reset->leaf_index},
       {"reset_record", hex},
       {"note",
        "the reset is in the key chain of the account's verified lookup at "
        "this checkpoint; it ends every grant of history access made before "
        "it, this client's included"}});
  return true;
}

bool AccountMonitor::NoteOwnCheckFailed(const LogCheckpoint& checkpoint,
                                        const absl::Status& why,
                                        std::optional<uint64_t> proved) {
  uint64_t now = clock_->NowMillis();
  uint64_t delay = state_->policy.max_own_check_delay_ms;
  uint64_t& since = state_->own_unverified_since_ms;
  uint64_t& last = state_->own_check_failed_ms;
  // Failures spread over the delay count; one before a long gap (the
  // client was off) does not: the clock starts over. Except a refusal of
  // the history (PERMISSION_DENIED) while this client's grant is valid for
  // the verified state: the log, reachable, keeps the owner out, and a
  // monitor that runs less often than the delay must still be told.
  bool refused = absl::IsPermissionDenied(why);
  if (since == 0 || (!refused && now - std::min(now, last) > delay)) {
    since = now;
  }
  last = now;
  uint64_t age = now - std::min(now, since);
  if (age <= delay) return false;
  std::string what =
      proved.has_value()
          ? absl::StrCat("proves your account at version ", *proved,
                         " but has not let this client check the changes "
                         "since version ",
                         state_->own_state.version)
          : std::string(
                "serves fresh checkpoints but has not let this "
                "client look up your account");
  alerts_->Raise(
      AlertType::kStaleLog, state_->account_id,
      absl::StrCat(since, "|own-check"),
      absl::StrCat("the log ", what, " for ", age / 1000, " s (", why.message(),
                   "): someone may be hiding a change to your account"),
      {{"checkpoint", state_->trusted_checkpoint},
       {"proved_version", proved.has_value() ? *proved : 0},
       {"verified_version", state_->own_state.version},
       {"unverified_since_ms", since},
       {"error", why.ToString()}});
  return true;
}

bool AccountMonitor::IsOwnBackup(const DeviceRecord& record) const {
  if (record.operation != Operation::kRecordBackup) return false;
  absl::StatusOr<BackupRef> named = DecodeBackupRef(record.key);
  return named.ok() && state_->backup.latest.version > 0 &&
         *named == state_->backup.latest;
}

void AccountMonitor::ReportUnexpected(const HistoryItem& item,
                                      const AccountState& now) {
  const std::string& id = state_->account_id;
  const VerifiedDevice& r = item.verified;
  std::string leaf = HashLeaf(item.entry.leaf).ToHex();
  nlohmann::json evidence = {{"checkpoint", state_->trusted_checkpoint},
                             {"vrf_proof", HexEncode(item.vrf_proof)},
                             {"entry", EntryJson(item.entry)}};
  switch (r.record.operation) {
    case Operation::kAddDevice: {
      auto active = now.devices.find(r.record.device_id);
      bool still = active != now.devices.end() &&
                   active->second.leaf_index == r.leaf_index;
      alerts_->Raise(
          AlertType::kUnexpectedDevice, id, leaf,
          absl::StrCat("device \"", r.record.device_id, "\" (key ",
                       Short(r.record.key),
                       "…) was added to your account at "
                       "leaf ",
                       r.leaf_index, " (version ", r.record.account_version,
                       "), not by you",
                       still ? "" : "; it has been removed again since"),
          evidence);
      break;
    }
    case Operation::kRemoveDevice:
      alerts_->Raise(AlertType::kUnexpectedRemoval, id, leaf,
                     absl::StrCat("device \"", r.record.device_id,
                                  "\" was removed from your account at leaf ",
                                  r.leaf_index, ", not by you"),
                     evidence);
      state_->approved_devices.erase(r.record.device_id);
      break;
    case Operation::kRotateAccountKey:
      alerts_->Raise(
          AlertType::kUnexpectedKeyChange, id, leaf,
          absl::StrCat("your account key was replaced by ", Short(r.record.key),
                       "… at leaf ", r.leaf_index,
                       ", not by you: whoever holds that key controls your "
                       "account"),
          evidence);
      break;
    case Operation::kSetSecurityKeys:
      alerts_->Raise(
          AlertType::kUnexpectedKeyChange, id, leaf,
          absl::StrCat("your account's security keys were replaced at leaf ",
                       r.leaf_index,
                       ", not by you: whoever holds those keys controls your "
                       "account"),
          evidence);
      break;
    case Operation::kRecordBackup: {
      absl::StatusOr<BackupRef> named = DecodeBackupRef(r.record.key);
      uint64_t version = named.ok() ? named->version : 0;
      alerts_->Raise(
          AlertType::kUnexpectedBackup, id, leaf,
          absl::StrCat(
              "a trust backup (version ", version,
              named.ok() && named->deleted() ? ", deleted" : "",
              ") was recorded for your account at leaf ", r.leaf_index,
              state_->backup.latest.version > 0
                  ? absl::StrCat(", after the one this client holds (version ",
                                 state_->backup.latest.version,
                                 "): if you restored, the provider handed "
                                 "you an older backup than your latest")
                  : "",
              "; if not by you, whoever did holds your account's authority"),
          evidence);
      break;
    }
    case Operation::kResetAccount:
      alerts_->Raise(
          AlertType::kAccountReset, id, leaf,
          absl::StrCat("your account was reset at leaf ", r.leaf_index,
                       " with the log operator's credential, not by you: "
                       "every device was removed, and whoever holds key ",
                       Short(r.record.key),
                       "… controls your account; tell your contacts and the "
                       "operator"),
          evidence);
      break;
  }
}

absl::Status AccountMonitor::CheckOwnCheckpointAge(
    const LogCheckpoint& checkpoint) {
  uint64_t now = clock_->NowMillis();
  uint64_t age = now - std::min(now, checkpoint.timestamp_ms);
  if (age <= state_->policy.max_own_check_delay_ms) return absl::OkStatus();
  std::string message = absl::StrCat(
      "the newest checkpoint this client can trust is ", age / 1000,
      " s old: whatever changed in your account since is hidden from you "
      "(the log may be keeping newer checkpoints from you while it shows "
      "them to others, or your witnesses have stopped cosigning)");
  return alerts_->Refuse(
      Refusal::kStaleLog, absl::FailedPreconditionError(message),
      state_->account_id, absl::StrCat(CheckpointId(checkpoint), "|own-age"),
      message,
      {{"checkpoint", state_->trusted_checkpoint}, {"client_time_ms", now}});
}

std::optional<absl::Status> AccountMonitor::TakeFromLookup(
    const VerifiedAccount& now) {
  AccountState& own = state_->own_state;
  PromoteNextGrant(*now.state);
  if (!own.exists() && state_->access_grant.empty() &&
      state_->next_access_grant.empty()) {
    // A client set up for an account that exists already (a new phone of
    // someone who lost every key): nothing of its own to check, and no
    // grant to read the history. It starts from the verified lookup, as a
    // contact would; a reset makes the account its own (rule 4).
    own = *now.state;
    state_->own_authority = kNoOwnAuthority;
    state_->own_unverified_since_ms = 0;
    return absl::OkStatus();
  }
  if (!state_->access_grant.empty() && ReportResetShutOut(now)) {
    // The account is someone else's now: what is known of it is the
    // verified lookup; nothing of ours before it is still on its way.
    for (auto p = state_->pending_own.begin();
         p != state_->pending_own.end();) {
      p = p->second.version <= now.state->version ? state_->pending_own.erase(p)
                                                  : ++p;
    }
    own = *now.state;
    state_->own_unverified_since_ms = 0;
    return WithRefusal(
        absl::PermissionDeniedError(
            "your account was reset by someone else (ACCOUNT_RESET): this "
            "client can no longer read its history"),
        Refusal::kAccountReset);
  }
  return std::nullopt;
}

absl::Status AccountMonitor::MonitorSelf(const LogCheckpoint& checkpoint) {
  const std::string& id = state_->account_id;
  AccountState& own = state_->own_state;
  RETURN_IF_ERROR(CheckOwnCheckpointAge(checkpoint));
  size_t alerts_before = alerts_->raised().size();
  absl::StatusOr<VerifiedAccount> looked_up = Lookup(checkpoint, id);
  if (!looked_up.ok()) {
    // Not evidence (the log busy or refusing), but not for ever.
    if (alerts_->raised().size() == alerts_before &&
        NoteOwnCheckFailed(checkpoint, looked_up.status(), std::nullopt)) {
      return WithRefusal(looked_up.status(), Refusal::kStaleLog);
    }
    return looked_up.status();
  }
  VerifiedAccount& now = *looked_up;
  if (now.erased_version.has_value()) {
    absl::Status erased = Erased(checkpoint, id, now, own.version);
    if (RefusalOf(erased) == Refusal::kAccountErased) {
      state_->own_unverified_since_ms = 0;  // verified: erased
    }
    return erased;
  }
  if (!now.state.has_value()) {
    if (own.exists()) {
      return alerts_->Refuse(
          Refusal::kAccountVanished,
          absl::DataLossError("own account vanished"), id,
          CheckpointId(checkpoint),
          "your account is proved absent from the log it was in",
          {{"checkpoint", state_->trusted_checkpoint}});
    }
    state_->own_unverified_since_ms = 0;
    return absl::OkStatus();  // not registered yet
  }
  if (now.state->version < own.version) {
    return alerts_->Refuse(
        Refusal::kInconsistentAccount,
        absl::DataLossError("own account version went backwards"), id,
        CheckpointId(checkpoint),
        absl::StrCat("your account went back from version ", own.version,
                     " to ", now.state->version),
        {{"checkpoint", state_->trusted_checkpoint}});
  }
  if (std::optional<absl::Status> done = TakeFromLookup(now)) return *done;
  AccountState replay = own;
  if (now.state->version > own.version && state_->next_access_grant.empty()) {
    // Without a grant the client cannot ask; that is not the log's doing.
    RETURN_IF_ERROR(OwnerProofFor(id, own.version + 1, checkpoint.size,
                                  state_->access_grant)
                        .status());
  }
  absl::StatusOr<std::vector<HistoryItem>> items =
      ReplayHistory(checkpoint, id, *now.state, &replay);
  if (!items.ok()) {
    // Not evidence (the log is unreachable or busy), but not for ever.
    if (alerts_->raised().size() == alerts_before &&
        NoteOwnCheckFailed(checkpoint, items.status(), now.state->version)) {
      return WithRefusal(items.status(), Refusal::kStaleLog);
    }
    return items.status();
  }
  state_->own_unverified_since_ms = 0;
  for (const HistoryItem& item : *items) {
    std::string hash = Sha256(item.entry.record).ToHex();
    if (state_->pending_own.erase(hash) > 0) {
      matched_own_.insert(hash);
      const DeviceRecord& mine = item.verified.record;
      if (mine.account_version == 1) {
        state_->own_authority = mine.account_key;
      } else if (ChangesAuthority(mine.operation)) {
        state_->own_authority = mine.key;
      }
      continue;
    }
    if (IsOwnBackup(item.verified.record)) {
      // Ours (this client sealed it, or restored from it): where the log
      // recorded it.
      state_->backup.record_version = item.verified.record.account_version;
      continue;
    }
    ReportUnexpected(item, replay);
  }
  // A record of ours whose version the account has passed was never
  // appended (a refused or unsent write) and now never can be; one the log
  // acknowledged is evidence of a lie, as is one missing from a tree that
  // holds the leaf index the log acknowledged.
  for (auto p = state_->pending_own.begin(); p != state_->pending_own.end();) {
    const PendingOwn& mine = p->second;
    bool passed = mine.version <= replay.version;
    if (mine.acknowledged && (passed || checkpoint.size > mine.leaf_index)) {
      ReportUnappended(checkpoint, p->first, mine, replay.version);
    }
    p = passed ? state_->pending_own.erase(p) : ++p;
  }
  own = std::move(replay);
  return absl::OkStatus();
}

void AccountMonitor::ReportUnappended(const LogCheckpoint& checkpoint,
                                      const std::string& hash,
                                      const PendingOwn& mine,
                                      uint64_t version) {
  // The alert is what counts here: MonitorSelf goes on.
  alerts_
      ->Refuse(
          Refusal::kInconsistentAccount, absl::DataLossError("not appended"),
          state_->account_id, absl::StrCat(hash, "|unappended"),
          absl::StrCat("the log acknowledged your record of version ",
                       mine.version, " at leaf index ", mine.leaf_index,
                       " but your account's history does not have it (your "
                       "account is at version ",
                       version, " in the tree of size ", checkpoint.size,
                       "): a change you made may not be in effect; check your "
                       "devices"),
          {{"checkpoint", state_->trusted_checkpoint},
           {"record_sha256", hash},
           {"version", mine.version},
           {"acknowledged_leaf_index", mine.leaf_index},
           {"account_version", version}})
      .IgnoreError();
}

absl::StatusOr<VerifiedAccount> AccountMonitor::LookupExisting(
    const LogCheckpoint& checkpoint, const std::string& account) {
  ASSIGN_OR_RETURN(VerifiedAccount found, Lookup(checkpoint, account));
  if (auto contact = state_->contacts.find(account);
      contact != state_->contacts.end()) {
    RETURN_IF_ERROR(CheckContact(checkpoint, account, found, &contact->second));
  }
  if (found.state.has_value()) return found;
  if (found.erased_version.has_value()) {
    return Erased(checkpoint, account, found, 0);
  }
  return absl::NotFoundError(absl::StrCat(
      "account \"", account,
      "\" does not exist (absence verified at tree size ", checkpoint.size,
      state_->policy.witness_quorum > 0
          ? ", the newest checkpoint your witnesses have cosigned; an account "
            "registered since appears once they cosign a newer one)"
          : ")"));
}

absl::StatusOr<std::vector<VerifiedDevice>> AccountMonitor::History(
    const LogCheckpoint& checkpoint, const std::string& account) {
  if (account != state_->account_id) {
    return OwnerProofFor(account, 1, checkpoint.size, "").status();
  }
  ASSIGN_OR_RETURN(VerifiedAccount now, LookupExisting(checkpoint, account));
  AccountState replay;
  ASSIGN_OR_RETURN(std::vector<HistoryItem> items,
                   ReplayHistory(checkpoint, account, *now.state, &replay));
  std::vector<VerifiedDevice> out;
  out.reserve(items.size());
  for (HistoryItem& item : items) out.push_back(std::move(item.verified));
  return out;
}

namespace {

// The hashes (hex) of the rotation records of a state's key chain.
std::vector<std::string> ChainHashes(const AccountState& s) {
  std::vector<std::string> out;
  for (const ChainedRotation& r : s.key_chain) {
    out.push_back(Sha256(r.record).ToHex());
  }
  return out;
}

}  // namespace

absl::Status AccountMonitor::CheckFollowsSeen(const LogCheckpoint& checkpoint,
                                              const std::string& id,
                                              const VerifiedAccount& now,
                                              const ContactState& contact) {
  const AccountState& s = *now.state;
  std::vector<std::string> problems;
  if (s.version < contact.seen_version) {
    problems.push_back(absl::StrCat("it went back from version ",
                                    contact.seen_version, " to ", s.version));
  }
  std::vector<std::string> chain = ChainHashes(s);
  if (chain.size() < contact.seen_chain.size() ||
      !std::equal(contact.seen_chain.begin(), contact.seen_chain.end(),
                  chain.begin())) {
    problems.push_back(absl::StrCat(
        "its key chain does not extend the one shown at version ",
        contact.seen_version, " (an account's rotations are never undone)"));
  } else if (chain.size() > contact.seen_chain.size() &&
             s.key_chain[contact.seen_chain.size()].version <=
                 contact.seen_version) {
    problems.push_back(
        absl::StrCat("its key chain gained a change dated version ",
                     s.key_chain[contact.seen_chain.size()].version,
                     ", which the state shown at version ",
                     contact.seen_version, " did not have"));
  }
  for (const VerifiedDevice& d : now.devices) {
    if (d.record.account_version > contact.seen_version) continue;
    auto seen = contact.seen_devices.find(d.record.device_id);
    if (seen == contact.seen_devices.end() || seen->second != d.record.key) {
      problems.push_back(absl::StrCat(
          "device \"", d.record.device_id, "\", added at version ",
          d.record.account_version, ", was not there at version ",
          contact.seen_version, " (a removed device brought back?)"));
    }
  }
  if (problems.empty()) return absl::OkStatus();
  std::string message =
      absl::StrCat("the log showed ", id,
                   " in a state that does not follow from the one it showed "
                   "before: ",
                   absl::StrJoin(problems, "; "));
  return alerts_->Refuse(
      Refusal::kInconsistentAccount, absl::DataLossError(message), id,
      absl::StrCat(Sha256(s.Encode()).ToHex(), "|rewritten"), message,
      {{"checkpoint", state_->trusted_checkpoint},
       {"state", HexEncode(s.Encode())},
       {"seen_version", contact.seen_version},
       {"seen_devices", contact.seen_devices.size()}});
}

namespace {

// Whether a reset in `now`'s key chain came after `reference` was in force
// (a reference not in the chain: whether there is any reset).
bool ResetSince(const VerifiedAccount& now, const std::string& reference) {
  uint64_t since = 0;
  for (const auto& [version, key] : now.key_chain) {
    if (key == reference) since = version;
  }
  return std::any_of(
      now.resets.begin(), now.resets.end(),
      [since](const VerifiedReset& r) { return r.version > since; });
}

}  // namespace

void AccountMonitor::RaiseResets(const std::string& id,
                                 const VerifiedAccount& now,
                                 const ContactState& contact) {
  for (const VerifiedReset& r : now.resets) {
    // Once per reset, when this client first sees the account with it (a
    // contact added long after is told too), not at every check after;
    // acknowledged by comparing codes again (VerifyContact) or `ktctl
    // alerts ack`.
    const std::vector<std::string>& seen = contact.seen_chain;
    if (std::find(seen.begin(), seen.end(), r.record_hash.ToHex()) !=
        seen.end()) {
      continue;
    }
    alerts_->Raise(
        AlertType::kAccountReset, id, r.record_hash.ToHex(),
        absl::StrCat(
            id, "'s account was reset by the log's operator at version ",
            r.version,
            " (its owner said every key was lost): its key and devices since "
            "are vouched for by the operator, not by its earlier keys; "
            "compare safety codes with them before you trust their devices"),
        {{"checkpoint", state_->trusted_checkpoint},
         {"reset_version", r.version},
         {"reset_leaf_index", r.leaf_index},
         {"reset_record_sha256", r.record_hash.ToHex()},
         {"new_key", HexEncode(r.new_key)}});
  }
}

void AccountMonitor::RememberSeen(const VerifiedAccount& now,
                                  ContactState* contact) {
  contact->seen_key = now.state->account_key;
  contact->seen_version = now.state->version;
  contact->seen_chain = ChainHashes(*now.state);
  contact->seen_devices.clear();
  for (const VerifiedDevice& d : now.devices) {
    contact->seen_devices[d.record.device_id] = d.record.key;
  }
}

absl::Status AccountMonitor::Erased(const LogCheckpoint& checkpoint,
                                    const std::string& id,
                                    const VerifiedAccount& now,
                                    uint64_t seen_version) {
  uint64_t version = *now.erased_version;
  bool own = id == state_->account_id;
  // The owner accepts an erasure only right after the version it
  // verified, with no write of its own acknowledged and not verified: else
  // it would hide changes nobody can check any more (a log holding a stolen
  // key could add a device, then erase the account; or append its own
  // first record instead of the owner's, then erase).
  bool acknowledged = false;  // a write of the owner's, not verified yet
  if (own) {
    for (const auto& [hash, pending] : state_->pending_own) {
      acknowledged = acknowledged || pending.acknowledged;
    }
  }
  if (own &&
      ((seen_version > 0 && version != seen_version + 1) || acknowledged)) {
    return alerts_->Refuse(
        Refusal::kInconsistentAccount,
        absl::DataLossError("erased after changes the owner never verified"),
        id, CheckpointId(checkpoint),
        absl::StrCat(
            "the log erased your account at version ", version,
            ", but you verified it at version ", seen_version,
            acknowledged ? ", with a write of yours not verified yet" : "",
            ": what changed before the erasure can no longer be "
            "checked"),
        {{"checkpoint", state_->trusted_checkpoint},
         {"erased_version", version},
         {"own_version", seen_version}});
  }
  if (seen_version >= version) {
    return alerts_->Refuse(
        Refusal::kInconsistentAccount,
        absl::DataLossError("erased at an earlier version than seen"), id,
        CheckpointId(checkpoint),
        absl::StrCat("the log says ", own ? "your account" : id,
                     " was erased at version ", version, ", but you saw it at ",
                     "version ", seen_version),
        {{"checkpoint", state_->trusted_checkpoint},
         {"erased_version", version},
         {"seen_version", seen_version}});
  }
  return WithRefusal(
      absl::NotFoundError(absl::StrCat(
          own ? "your account" : absl::StrCat("account \"", id, "\""),
          " was erased from the log on request (at version ", version - 1,
          ", proved at tree size ", checkpoint.size, "): ",
          own ? "your contacts can no longer verify your devices"
              : "its devices can no longer be verified")),
      Refusal::kAccountErased);
}

absl::Status AccountMonitor::CheckContact(const LogCheckpoint& checkpoint,
                                          const std::string& id,
                                          const VerifiedAccount& now,
                                          ContactState* contact) {
  if (now.erased_version.has_value()) {
    return Erased(checkpoint, id, now, contact->seen_version);
  }
  if (!now.state.has_value()) {
    if (contact->seen_version > 0) {
      return alerts_->Refuse(
          Refusal::kAccountVanished,
          absl::DataLossError(
              absl::StrCat("contact ", id, " is proved absent from the log")),
          id, CheckpointId(checkpoint),
          absl::StrCat("contact ", id,
                       " is proved absent from the log it was in"),
          {{"checkpoint", state_->trusted_checkpoint}});
    }
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(CheckFollowsSeen(checkpoint, id, now, *contact));
  RaiseResets(id, now, *contact);
  // Every difference from what the user verified makes this check fail,
  // not only the first time it is seen (the alert is raised once).
  std::vector<std::string> differences;
  Refusal refusal = Refusal::kContactDeviceUnsigned;  // unless the key
  const std::string& key = now.state->account_key;
  const std::string& reference =
      contact->verified_key.empty() ? contact->seen_key : contact->verified_key;
  if (!reference.empty() && key != reference && ResetSince(now, reference)) {
    // ACCOUNT_RESET said it (RaiseResets).
    if (!contact->verified_key.empty()) {
      differences.push_back(
          "its account was reset by the log's operator since you verified "
          "it");
      refusal = Refusal::kAccountReset;
    }
  } else if (!reference.empty() && key != reference) {
    // Keyed on the rotation that put this key in force: going back to a
    // key that alerted once and then to it again alerts again.
    alerts_->Raise(
        AlertType::kContactKeyChanged, id,
        absl::StrCat(HexEncode(key), "|", now.current_key_record.ToHex()),
        absl::StrCat(
            id, "'s authority changed from ", AuthorityText(reference),
            contact->verified_key.empty() ? "" : " (the one you verified)",
            " to ", AuthorityText(key),
            ": your safety code with them is different now; compare codes "
            "again before trusting their devices"),
        {{"checkpoint", state_->trusted_checkpoint},
         {"previous_key", HexEncode(reference)},
         {"new_key", HexEncode(key)}});
    if (!contact->verified_key.empty()) {
      differences.push_back("its account key is not the one you verified");
      refusal = Refusal::kContactKeyChanged;
    }
  }
  if (!contact->verified_key.empty()) {
    // Vouched for: what the verified key signed, and the devices vouched
    // for when it was verified (VerifyContact). A key that rotated away
    // from it (a thief's) or that the log holds vouches for nothing.
    for (const VerifiedDevice& d : now.devices) {
      auto then = contact->verified_devices.find(d.record.device_id);
      bool vouched = VerifyAuthorizedBy(d.record, contact->verified_key).ok() ||
                     (then != contact->verified_devices.end() &&
                      then->second == d.record.key);
      if (vouched) continue;
      differences.push_back(absl::StrCat("device \"", d.record.device_id,
                                         "\" is not vouched for"));
      std::string record = d.record.Encode();
      alerts_->Raise(
          AlertType::kContactDeviceUnsigned, id, Sha256(record).ToHex(),
          absl::StrCat(id, "'s device \"", d.record.device_id,
                       "\" is not signed by the account key you verified, "
                       "and was not among their devices when you verified "
                       "it: ask them whether it is theirs"),
          {{"checkpoint", state_->trusted_checkpoint},
           {"verified_key", HexEncode(contact->verified_key)},
           {"device_leaf_index", d.leaf_index},
           {"record", HexEncode(record)}});
    }
  }
  RememberSeen(now, contact);
  if (!differences.empty()) {
    return WithRefusal(
        absl::DataLossError(absl::StrCat(
            id, " is not what you verified (", absl::StrJoin(differences, "; "),
            "): compare safety codes again if their key changed, and ask "
            "them about devices you do not know")),
        refusal);
  }
  return absl::OkStatus();
}

absl::Status AccountMonitor::CheckOwnAssertion(const DeviceRecord& record) {
  const AccountState& own = state_->own_state;
  if (!record.by_security_key() || !IsSecurityKeyAuthority(own.account_key)) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(SecurityKeySet set, DecodeSecurityKeySet(own.account_key));
  ASSIGN_OR_RETURN(AuthenticatorData data,
                   ParseAuthenticatorData(record.authenticator_data));
  for (size_t i = 0; i < set.keys.size() && i < own.key_counters.size(); ++i) {
    if (set.keys[i].credential_id != record.credential_id) continue;
    uint32_t held = own.key_counters[i];
    if (SignCountGrows(held, data.sign_count)) return absl::OkStatus();
    std::string key = HexEncode(record.credential_id);
    std::string message = absl::StrCat(
        "your security key ", key.substr(0, 16), "… signed with counter ",
        data.sign_count,
        ", but your account already holds a signature of it "
        "with counter ",
        held,
        ": a copy of this key has been used. Remove it with another of your "
        "keys and check your devices");
    return alerts_->Refuse(Refusal::kClonedSecurityKey,
                           absl::DataLossError(message), state_->account_id,
                           absl::StrCat(key, "|", held), message,
                           {{"credential_id", key},
                            {"counter_now", data.sign_count},
                            {"counter_in_account", held},
                            {"account_version", own.version},
                            {"checkpoint", state_->trusted_checkpoint}});
  }
  return absl::OkStatus();
}

absl::Status AccountMonitor::MonitorContacts(const LogCheckpoint& checkpoint) {
  // One batch for every contact (a few calls to the log, not one each),
  // those answered longest ago first: a log that answers only part of
  // the batch (a rate limit a transport cannot wait out) leaves a
  // different part unchecked each time, not always the same one.
  std::vector<std::string> order;
  for (const auto& [id, contact] : state_->contacts) order.push_back(id);
  std::stable_sort(order.begin(), order.end(),
                   [this](const std::string& a, const std::string& b) {
                     return state_->contacts[a].answered_ms <
                            state_->contacts[b].answered_ms;
                   });
  std::vector<LookupAsk> asks;
  asks.reserve(order.size());
  for (const std::string& id : order) {
    asks.push_back(LookupAsk{id, KnownFirstKey(id).empty()});
  }
  std::vector<absl::StatusOr<AccountLookupAnswer>> answers =
      log_->LookupAccounts(asks, checkpoint.size);
  if (answers.size() != asks.size()) {
    return absl::InternalError(
        "the log source answered a batch of lookups "
        "with a different number of answers");
  }
  absl::Status first;
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string& id = order[i];
    ContactState& contact = state_->contacts[id];
    absl::StatusOr<AccountLookupAnswer>& fetched = answers[i];
    if (absl::IsUnimplemented(fetched.status())) {
      // A log (or a front end) without LookupAccounts: one by one.
      fetched =
          log_->LookupAccount(id, checkpoint.size, asks[i].with_first_record);
    }
    if (fetched.ok()) contact.answered_ms = clock_->NowMillis();
    absl::StatusOr<VerifiedAccount> now =
        fetched.ok() ? Verify(checkpoint, id, std::move(fetched))
                     : NotChecked(id, fetched.status());
    absl::Status checked =
        now.ok() ? CheckContact(checkpoint, id, *now, &contact) : now.status();
    if (first.ok()) first = checked;
  }
  return first;
}

absl::StatusOr<VerifiedAccount> AccountMonitor::AddContact(
    const LogCheckpoint& checkpoint, const std::string& account) {
  state_->contacts.try_emplace(account);
  return LookupExisting(checkpoint, account);
}

absl::StatusOr<VerifiedAccount> AccountMonitor::VerifyContact(
    const LogCheckpoint& checkpoint, const std::string& account,
    const std::string& compared_key) {
  state_->contacts.try_emplace(account);
  ASSIGN_OR_RETURN(VerifiedAccount now, Lookup(checkpoint, account));
  if (now.erased_version.has_value()) {
    return Erased(checkpoint, account, now,
                  state_->contacts[account].seen_version);
  }
  if (!now.state.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("account \"", account,
                     "\" does not exist (absence verified at tree "
                     "size ",
                     checkpoint.size, ")"));
  }
  if (now.state->account_key != compared_key) {
    return absl::FailedPreconditionError(absl::StrCat(
        account,
        "'s account key changed since the code was computed: show and "
        "compare the code again"));
  }
  ContactState& contact = state_->contacts[account];
  RETURN_IF_ERROR(CheckFollowsSeen(checkpoint, account, now, contact));
  RaiseResets(account, now, contact);  // acknowledged below
  // The user compared codes over this key now: it becomes the reference,
  // with the devices the account has now (each signed by a key of its
  // chain from the first record). Codes cover the key, not devices: the
  // CONTACT_DEVICE_UNSIGNED alerts raised before say which ones to ask
  // about first (docs/verifier.md, "Contacts").
  contact.verified_key = compared_key;
  contact.verified_devices.clear();
  for (const VerifiedDevice& d : now.devices) {
    contact.verified_devices[d.record.device_id] = d.record.key;
  }
  RememberSeen(now, &contact);
  // The key change alerted about has now been compared in person. Only
  // alerts about this key: a change to another key (a thief's, replaced
  // since) was never compared and stays listed.
  // So have the account's resets, all of which led to this key.
  for (Alert& a : state_->alerts) {
    bool compared =
        a.type == AlertType::kAccountReset ||
        (a.type == AlertType::kContactKeyChanged &&
         a.evidence.value("new_key", std::string()) == HexEncode(compared_key));
    if (compared && a.account == account && a.acknowledged_at_ms == 0) {
      a.acknowledged_at_ms = clock_->NowMillis();
    }
  }
  return now;
}

}  // namespace ktlog
