#include "verifier/lookup.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/account/commitment.h"
#include "core/account/index.h"
#include "core/account/leaf.h"
#include "core/crypto/crypto.h"
#include "core/merkle/merkle.h"
#include "core/merkle/proof.h"
#include "core/util/status_macros.h"
#include "verifier/refusal.h"

namespace ktlog {
namespace {

// Evidence against the log (DATA_LOSS) for `refusal`.
absl::Status Evidence(Refusal refusal, absl::string_view what) {
  return WithRefusal(absl::DataLossError(what), refusal);
}

// A malformed or incomplete answer (INVALID_ARGUMENT): not evidence.
absl::Status Malformed(absl::string_view what) {
  return WithRefusal(absl::InvalidArgumentError(what),
                     Refusal::kMalformedAnswer);
}

// A check of core/ named: its DATA_LOSS is evidence for `refusal`, any
// other error a malformed answer.
absl::Status Named(absl::Status status, Refusal refusal) {
  if (status.ok()) return status;
  Refusal named =
      absl::IsDataLoss(status) ? refusal : Refusal::kMalformedAnswer;
  return WithRefusal(std::move(status), named);
}

absl::Status CheckTreeSize(const LogCheckpoint& checkpoint, uint64_t size,
                           absl::string_view what) {
  if (size != checkpoint.size) {
    return Malformed(absl::StrCat("the ", what, " is for tree size ", size,
                                  ", not the checkpoint's ", checkpoint.size));
  }
  return absl::OkStatus();
}

// The leaf at `leaf_index` as `e` claims it: in the checkpoint's tree (the
// inclusion proof), well-formed and at `position`.
absl::StatusOr<Leaf> CheckLeafAt(const LogCheckpoint& checkpoint,
                                 const Hash& position,
                                 const HistoryEntryAnswer& e) {
  if (e.leaf_index >= checkpoint.size) {
    return Malformed(absl::StrCat("leaf index ", e.leaf_index,
                                  " is outside the checkpoint's tree of size ",
                                  checkpoint.size));
  }
  RETURN_IF_ERROR(
      Named(VerifyInclusion(e.leaf_index, checkpoint.size, HashLeaf(e.leaf),
                            e.inclusion_proof, checkpoint.root),
            Refusal::kBadInclusionProof));
  absl::StatusOr<Leaf> leaf = DecodeLeaf(e.leaf);
  if (!leaf.ok()) {
    return Evidence(Refusal::kBadLeaf,
                    absl::StrCat("the log's tree holds a malformed leaf at ",
                                 e.leaf_index, ": ", leaf.status().message()));
  }
  if (leaf->position != position) {
    return Evidence(
        Refusal::kBadLeaf,
        absl::StrCat("leaf ", e.leaf_index,
                     " is at a position that is not the account's VRF output"));
  }
  return leaf;
}

// Check 1: the index proves the state's commitment (or absence) at the
// position under the checkpoint's index root. Returns the state, or nullopt
// for absence.
absl::StatusOr<std::optional<AccountState>> CheckIndexProof(
    const LogCheckpoint& checkpoint, const Hash& position,
    const std::string& account_id, const AccountLookupAnswer& answer) {
  absl::StatusOr<IndexProof> decoded = DecodeIndexProof(answer.index_proof);
  if (!decoded.ok()) return Malformed(decoded.status().message());
  const IndexProof& proof = *decoded;
  if (answer.account_state.empty()) {
    if (!answer.state_opening.empty()) {
      return Malformed("an absent account cannot have a state opening");
    }
    RETURN_IF_ERROR(Named(
        VerifyIndexProof(checkpoint.index_root, position, std::nullopt, proof),
        Refusal::kBadIndexProof));
    return std::optional<AccountState>();
  }
  absl::StatusOr<AccountState> state = DecodeAccountState(answer.account_state);
  if (!state.ok()) {
    return Malformed(absl::StrCat("the lookup's account state is malformed: ",
                                  state.status().message()));
  }
  if (state->account_id != account_id || !state->exists()) {
    return Malformed("the lookup's account state is for another account");
  }
  if (answer.state_opening.size() != kOpeningSize) {
    return Malformed("the lookup's state opening is missing");
  }
  Hash commitment = Commit(answer.state_opening, CommitmentKind::kState,
                           account_id, state->version, answer.account_state);
  absl::Status proved =
      VerifyIndexProof(checkpoint.index_root, position,
                       IndexValueHash(state->version, commitment), proof);
  if (absl::IsDataLoss(proved)) {
    return Evidence(
        Refusal::kBadIndexProof,
        absl::StrCat(
            "the index at the account's position does not commit to the state "
            "the lookup opened (",
            proved.message(), ")"));
  }
  RETURN_IF_ERROR(Named(proved, Refusal::kBadIndexProof));
  return std::optional<AccountState>(*std::move(state));
}

// The version of an erased account's erasure leaf, which the index proof
// must prove at its position (an auditor checks that no leaf follows it).
absl::StatusOr<uint64_t> CheckErased(const LogCheckpoint& checkpoint,
                                     const Hash& position,
                                     const AccountLookupAnswer& answer) {
  if (!answer.account_state.empty() || !answer.state_opening.empty() ||
      answer.first_record.has_value()) {
    return Malformed(
        "the lookup of an erased account carries a state, an opening or an "
        "anchor");
  }
  absl::StatusOr<IndexProof> proof = DecodeIndexProof(answer.index_proof);
  if (!proof.ok()) return Malformed(proof.status().message());
  absl::StatusOr<Leaf> leaf = DecodeLeaf(answer.erased_leaf);
  if (!leaf.ok() || leaf->position != position || !IsErasure(*leaf) ||
      leaf->version < 2) {
    return Malformed(
        "the erased account's leaf is malformed, another position's or no "
        "erasure leaf");
  }
  absl::Status proved = VerifyIndexProof(
      checkpoint.index_root, position,
      IndexValueHash(leaf->version, leaf->state_commitment), *proof);
  if (absl::IsDataLoss(proved)) {
    return Evidence(
        Refusal::kBadIndexProof,
        absl::StrCat("the index at the erased account's position does not "
                     "hold the leaf the lookup names (",
                     proved.message(), ")"));
  }
  RETURN_IF_ERROR(Named(proved, Refusal::kBadIndexProof));
  return leaf->version;
}

// Decodes a record the state carries and checks its signature.
absl::StatusOr<DeviceRecord> SignedRecord(const std::string& bytes,
                                          uint64_t leaf_index) {
  absl::StatusOr<DeviceRecord> r = DecodeRecord(bytes);
  if (!r.ok()) {
    return Malformed(absl::StrCat("the state's record of leaf ", leaf_index,
                                  " is malformed: ", r.status().message()));
  }
  if (!r->VerifySignature().ok()) {
    return Evidence(Refusal::kBadRecordSignature,
                    absl::StrCat("the log committed to a state whose record "
                                 "of leaf ",
                                 leaf_index, " has a bad signature"));
  }
  return *std::move(r);
}

// Whether `authority` (in force before `r`) authorized `r`, a record that
// SignedRecord returned: by that account key, or by an assertion of one of
// that set's security keys (VerifyAuthorizedBy).
bool AuthorizedBy(const DeviceRecord& r, const std::string& authority) {
  if (!r.by_security_key()) return r.account_key == authority;
  return VerifyAuthorizedBy(r, authority).ok();
}

// Check 2: the state's first key is the one verified before, or the
// first-record anchor shows it is the first record's.
absl::Status CheckFirstKey(const LogCheckpoint& checkpoint,
                           const Hash& position, const AccountState& state,
                           const std::optional<HistoryEntryAnswer>& anchor,
                           const std::string& known_first_key) {
  if (!known_first_key.empty() && known_first_key != state.first_key) {
    return Evidence(
        Refusal::kBrokenKeyChain,
        "the state's first key is not the one this client verified for the "
        "account before: the log changed the root of its authority");
  }
  if (anchor.has_value()) {
    return VerifyFirstRecordAnchor(checkpoint, position, state, *anchor);
  }
  if (known_first_key.empty()) {
    return Malformed(
        "the lookup lacks the first-record anchor the client asked for");
  }
  return absl::OkStatus();
}

// Check 3: the key chain. Each rotation is signed by the key before it,
// from the first key on (a reset by the key it sets: SignedRecord checked
// that), and the last sets the state's account key. Returns (version after
// which each key is in force, key), oldest first; sets the hash of the
// rotation that set the current key, and the resets.
absl::StatusOr<std::vector<std::pair<uint64_t, std::string>>> CheckKeyChain(
    const AccountState& state, Hash* current_key_record,
    std::vector<VerifiedReset>* resets) {
  std::vector<std::pair<uint64_t, std::string>> keys;
  keys.emplace_back(0, state.first_key);
  *current_key_record = Hash();
  ResetRule rule(state.first_key);
  for (const ChainedRotation& c : state.key_chain) {
    ASSIGN_OR_RETURN(DeviceRecord r, SignedRecord(c.record, c.leaf_index));
    if (absl::Status s = rule.Next(r.operation, r.key, r.account_version);
        !s.ok()) {
      return Evidence(Refusal::kBrokenKeyChain,
                      absl::StrCat("the account's key chain breaks the reset "
                                   "rule: ",
                                   s.message()));
    }
    bool reset = r.operation == Operation::kResetAccount;
    if (reset && r.account_version >= 2) {
      resets->push_back(VerifiedReset{r.account_version, c.leaf_index,
                                      Sha256(c.record), r.key});
    } else if (r.account_version < 2 || !AuthorizedBy(r, keys.back().second)) {
      return Evidence(
          Refusal::kBrokenKeyChain,
          absl::StrCat(
              "the authority change of version ", r.account_version,
              " is not authorized by the authority before it in the account's "
              "chain from its first key: the log made up a key"));
    }
    keys.emplace_back(r.account_version, r.key);
    *current_key_record = Sha256(c.record);
  }
  if (keys.back().second != state.account_key) {
    return Evidence(
        Refusal::kBrokenKeyChain,
        "the key chain from the account's first key does not end at its "
        "current key");
  }
  return keys;
}

// Check 4: every device's add-device record is signed by the account key
// in force at its version, and none dates from the latest reset or before
// it (its version is the reset's own or lower).
absl::StatusOr<std::vector<VerifiedDevice>> CheckDevices(
    const AccountState& state,
    const std::vector<std::pair<uint64_t, std::string>>& keys,
    const std::vector<VerifiedReset>& resets) {
  std::vector<VerifiedDevice> out;
  for (const auto& [device_id, device] : state.devices) {
    ASSIGN_OR_RETURN(DeviceRecord r,
                     SignedRecord(device.record, device.leaf_index));
    if (!resets.empty() && r.account_version <= resets.back().version) {
      return Evidence(
          Refusal::kUnauthorizedDevice,
          absl::StrCat("device \"", device_id, "\" dates from version ",
                       r.account_version,
                       ", before the account's reset at "
                       "version ",
                       resets.back().version, ", which removed every device"));
    }
    auto it = std::upper_bound(
        keys.begin(), keys.end(), r.account_version,
        [](uint64_t v, const auto& k) { return v <= k.first; });
    if (it == keys.begin() || !AuthorizedBy(r, (it - 1)->second)) {
      return Evidence(
          Refusal::kUnauthorizedDevice,
          absl::StrCat(
              "device \"", device_id,
              "\" was not authorized by the account's authority at version ",
              r.account_version));
    }
    out.push_back(VerifiedDevice{std::move(r), device.leaf_index});
  }
  return out;
}

}  // namespace

absl::Status VerifyFirstRecordAnchor(const LogCheckpoint& checkpoint,
                                     const Hash& position,
                                     const AccountState& state,
                                     const HistoryEntryAnswer& anchor) {
  ASSIGN_OR_RETURN(Leaf leaf, CheckLeafAt(checkpoint, position, anchor));
  if (leaf.version != 1) {
    return Malformed(
        absl::StrCat("the first-record anchor is the account's version ",
                     leaf.version, ", not 1"));
  }
  if (!CheckOpening(leaf.record_commitment, anchor.record_opening,
                    CommitmentKind::kRecord, state.account_id, 1, anchor.record)
           .ok()) {
    return Evidence(
        Refusal::kBadCommitment,
        absl::StrCat(
            "the first-record anchor's record does not open the record "
            "commitment of the account's version-1 leaf ",
            anchor.leaf_index));
  }
  ASSIGN_OR_RETURN(DeviceRecord first,
                   SignedRecord(anchor.record, anchor.leaf_index));
  if (first.operation != Operation::kAddDevice ||
      first.account_id != state.account_id || first.account_version != 1) {
    return Evidence(
        Refusal::kBrokenAccountRules,
        absl::StrCat(
            "the log committed at leaf ", anchor.leaf_index,
            " to a first record that is not an add-device of this account with "
            "version 1"));
  }
  if (first.account_key != state.first_key) {
    return Evidence(
        Refusal::kBrokenKeyChain,
        "the state's first key did not sign the account's first record: the "
        "log made up the root of the account's key chain");
  }
  return absl::OkStatus();
}

absl::StatusOr<VerifiedAuthority> VerifyAccountAuthority(
    const AccountState& state) {
  VerifiedAuthority out;
  ASSIGN_OR_RETURN(out.key_chain,
                   CheckKeyChain(state, &out.current_key_record, &out.resets));
  ASSIGN_OR_RETURN(out.devices, CheckDevices(state, out.key_chain, out.resets));
  return out;
}

absl::StatusOr<Hash> VerifyPosition(const VrfPublicKey& vrf_key,
                                    const std::string& account_id,
                                    const std::string& vrf_proof) {
  absl::StatusOr<Hash> position =
      vrf_key.Verify(AccountVrfInput(account_id), vrf_proof);
  if (absl::IsDataLoss(position.status())) {
    return Evidence(
        Refusal::kBadVrfProof,
        absl::StrCat(
            "the VRF proof of the account's position does not verify under the "
            "log's VRF key (",
            position.status().message(), ")"));
  }
  if (!position.ok()) {
    return Malformed(absl::StrCat("the VRF proof is malformed: ",
                                  position.status().message()));
  }
  return position;
}

absl::StatusOr<VerifiedAccount> VerifyAccountLookup(
    const LogCheckpoint& checkpoint, const VrfPublicKey& vrf_key,
    const std::string& account_id, const AccountLookupAnswer& answer,
    const std::string& known_first_key) {
  RETURN_IF_ERROR(CheckTreeSize(checkpoint, answer.tree_size, "lookup"));
  VerifiedAccount out;
  ASSIGN_OR_RETURN(out.position,
                   VerifyPosition(vrf_key, account_id, answer.vrf_proof));
  if (!answer.erased_leaf.empty()) {
    ASSIGN_OR_RETURN(out.erased_version,
                     CheckErased(checkpoint, out.position, answer));
    return out;
  }
  ASSIGN_OR_RETURN(
      out.state, CheckIndexProof(checkpoint, out.position, account_id, answer));
  if (!out.state.has_value()) {  // proved absent
    if (answer.first_record.has_value()) {
      return Malformed("an absent account cannot have a first-record anchor");
    }
    return out;
  }
  RETURN_IF_ERROR(CheckFirstKey(checkpoint, out.position, *out.state,
                                answer.first_record, known_first_key));
  ASSIGN_OR_RETURN(VerifiedAuthority authority,
                   VerifyAccountAuthority(*out.state));
  out.key_chain = std::move(authority.key_chain);
  out.current_key_record = authority.current_key_record;
  out.resets = std::move(authority.resets);
  out.devices = std::move(authority.devices);
  return out;
}

namespace {

// One history entry: the leaf in the tree at the position with the next
// version, its record and both openings. Advances `s`. Once the record opens
// the leaf's commitment the log has committed to those bytes, so whatever is
// wrong with them is evidence.
absl::StatusOr<VerifiedDevice> CheckVersion(const LogCheckpoint& checkpoint,
                                            const Hash& position,
                                            const HistoryEntryAnswer& e,
                                            AccountState* s) {
  ASSIGN_OR_RETURN(Leaf leaf, CheckLeafAt(checkpoint, position, e));
  if (leaf.version != s->version + 1) {
    return Malformed(absl::StrCat("the history skips from version ", s->version,
                                  " to ", leaf.version, " (leaf ", e.leaf_index,
                                  ")"));
  }
  absl::Status opens = CheckOpening(leaf.record_commitment, e.record_opening,
                                    CommitmentKind::kRecord, s->account_id,
                                    leaf.version, e.record);
  if (!opens.ok()) {
    return Evidence(Refusal::kBadCommitment,
                    absl::StrCat("the record of leaf ", e.leaf_index,
                                 " does not open its record commitment (",
                                 opens.message(), ")"));
  }
  absl::StatusOr<DeviceRecord> r = DecodeRecord(e.record);
  if (!r.ok() || r->account_id != s->account_id ||
      r->account_version != leaf.version) {
    return Evidence(
        Refusal::kBrokenAccountRules,
        absl::StrCat(
            "the log committed at leaf ", e.leaf_index,
            " to a record that is malformed or not this account's version ",
            leaf.version));
  }
  if (!r->VerifySignature().ok()) {
    return Evidence(Refusal::kBadRecordSignature,
                    absl::StrCat("the log committed at leaf ", e.leaf_index,
                                 " to a record with a bad signature"));
  }
  // The account rules verify a security key's assertion (against the keys
  // in force): one they refuse is a bad signature too.
  absl::Status rule = ApplyRecord(*r, e.leaf_index, s);
  if (absl::IsPermissionDenied(rule) && r->by_security_key()) {
    return Evidence(Refusal::kBadRecordSignature,
                    absl::StrCat("the log committed at leaf ", e.leaf_index,
                                 " to a record whose assertion the account's "
                                 "security keys did not make: ",
                                 rule.message()));
  }
  if (!rule.ok()) {
    return Evidence(Refusal::kBrokenAccountRules,
                    absl::StrCat("the log committed at leaf ", e.leaf_index,
                                 " to a record that breaks the account rules: ",
                                 rule.message()));
  }
  opens = CheckOpening(leaf.state_commitment, e.state_opening,
                       CommitmentKind::kState, s->account_id, leaf.version,
                       s->Encode());
  if (!opens.ok()) {
    return Evidence(
        Refusal::kBadCommitment,
        absl::StrCat("the state commitment of leaf ", e.leaf_index,
                     " does not open to the state its records lead to (",
                     opens.message(), ")"));
  }
  return VerifiedDevice{*std::move(r), e.leaf_index};
}

}  // namespace

absl::StatusOr<std::vector<VerifiedDevice>> VerifyAccountHistory(
    const LogCheckpoint& checkpoint, const VrfPublicKey& vrf_key,
    const std::string& account_id, const AccountHistoryAnswer& answer,
    AccountState* state) {
  RETURN_IF_ERROR(CheckTreeSize(checkpoint, answer.tree_size, "history"));
  ASSIGN_OR_RETURN(Hash position,
                   VerifyPosition(vrf_key, account_id, answer.vrf_proof));
  AccountState s = *state;
  if (!s.exists()) s.account_id = account_id;
  std::vector<VerifiedDevice> out;
  for (const HistoryEntryAnswer& e : answer.entries) {
    ASSIGN_OR_RETURN(VerifiedDevice d,
                     CheckVersion(checkpoint, position, e, &s));
    out.push_back(std::move(d));
  }
  *state = std::move(s);
  return out;
}

}  // namespace ktlog
