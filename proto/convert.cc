#include "proto/convert.h"

#include <deque>

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

void ToProto(const HistoryEntryAnswer& in, v1::HistoryEntry* out) {
  out->set_leaf_index(in.leaf_index);
  out->set_leaf(in.leaf);
  HashesToProto(in.inclusion_proof, out->mutable_inclusion_proof());
  out->set_record(in.record);
  out->set_record_opening(in.record_opening);
  out->set_state_opening(in.state_opening);
}

absl::StatusOr<HistoryEntryAnswer> FromProto(const v1::HistoryEntry& in) {
  HistoryEntryAnswer out;
  out.leaf_index = in.leaf_index();
  out.leaf = in.leaf();
  ASSIGN_OR_RETURN(out.inclusion_proof,
                   HashesFromProto(in.inclusion_proof(), "inclusion proof"));
  out.record = in.record();
  out.record_opening = in.record_opening();
  out.state_opening = in.state_opening();
  return out;
}

}  // namespace

void HashesToProto(const std::vector<Hash>& hashes,
                   google::protobuf::RepeatedPtrField<std::string>* out) {
  out->Reserve(static_cast<int>(hashes.size()));
  for (const Hash& h : hashes) out->Add(h.bytes());
}

absl::StatusOr<std::vector<Hash>> HashesFromProto(
    const google::protobuf::RepeatedPtrField<std::string>& hashes,
    absl::string_view what) {
  std::vector<Hash> out;
  out.reserve(hashes.size());
  for (const std::string& h : hashes) {
    absl::StatusOr<Hash> hash = Hash::FromBytes(h);
    if (!hash.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the log sent a malformed ", what, ": ", hash.status().message()));
    }
    out.push_back(*hash);
  }
  return out;
}

void ToProto(const InclusionAnswer& in, v1::InclusionProof* out) {
  out->set_leaf_index(in.leaf_index);
  out->set_tree_size(in.tree_size);
  HashesToProto(in.hashes, out->mutable_hashes());
}

absl::StatusOr<InclusionAnswer> FromProto(const v1::InclusionProof& in) {
  InclusionAnswer out;
  out.leaf_index = in.leaf_index();
  out.tree_size = in.tree_size();
  ASSIGN_OR_RETURN(out.hashes, HashesFromProto(in.hashes(), "inclusion proof"));
  return out;
}

void ToProto(const AccountLookupAnswer& in, v1::AccountLookup* out) {
  if (!in.checkpoint_note.empty()) {
    out->mutable_checkpoint()->set_note(in.checkpoint_note);
  }
  out->set_tree_size(in.tree_size);
  out->set_vrf_proof(in.vrf_proof);
  out->set_index_proof(in.index_proof);
  out->set_account_state(in.account_state);
  out->set_state_opening(in.state_opening);
  if (in.first_record.has_value()) {
    ToProto(*in.first_record, out->mutable_first_record());
  }
  out->set_erased_leaf(in.erased_leaf);
}

absl::StatusOr<AccountLookupAnswer> FromProto(const v1::AccountLookup& in) {
  if (in.ByteSizeLong() > kMaxLookupAnswerBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the log's lookup answer is ", in.ByteSizeLong(),
                     " bytes, more than any account's (at most ",
                     kMaxLookupAnswerBytes, ")"));
  }
  AccountLookupAnswer out;
  out.checkpoint_note = in.checkpoint().note();
  out.tree_size = in.tree_size();
  out.vrf_proof = in.vrf_proof();
  out.index_proof = in.index_proof();
  out.account_state = in.account_state();
  out.state_opening = in.state_opening();
  if (in.has_first_record()) {
    ASSIGN_OR_RETURN(out.first_record, FromProto(in.first_record()));
  }
  out.erased_leaf = in.erased_leaf();
  return out;
}

void ToProto(const OwnerProof& in, v1::OwnerProof* out) {
  out->set_access_key(in.access_key);
  out->set_grant(in.grant);
  out->set_timestamp_ms(in.timestamp_ms);
  out->set_signature(in.signature);
}

void ToProto(const AccountHistoryAnswer& in, v1::AccountHistory* out) {
  if (!in.checkpoint_note.empty()) {
    out->mutable_checkpoint()->set_note(in.checkpoint_note);
  }
  out->set_tree_size(in.tree_size);
  out->set_vrf_proof(in.vrf_proof);
  for (const HistoryEntryAnswer& e : in.entries) ToProto(e, out->add_entries());
  out->set_next_version(in.next_version);
}

absl::StatusOr<WriteAnswer> FromProto(const v1::WriteResponse& in,
                                      bool waited) {
  absl::StatusOr<Hash> leaf_hash = Hash::FromBytes(in.leaf_hash());
  if (!leaf_hash.ok()) {
    return absl::UnknownError("the log's answer has a malformed leaf hash");
  }
  if (waited && in.checkpoint().note().empty()) {
    return absl::UnknownError(
        "the log did not return the checkpoint it was asked to wait for");
  }
  return WriteAnswer{in.leaf_index(), *leaf_hash, in.checkpoint().note()};
}

absl::StatusOr<AccountHistoryAnswer> FromProto(const v1::AccountHistory& in) {
  AccountHistoryAnswer out;
  out.checkpoint_note = in.checkpoint().note();
  out.tree_size = in.tree_size();
  out.vrf_proof = in.vrf_proof();
  out.entries.reserve(in.entries_size());
  for (const v1::HistoryEntry& e : in.entries()) {
    ASSIGN_OR_RETURN(HistoryEntryAnswer entry, FromProto(e));
    out.entries.push_back(std::move(entry));
  }
  out.next_version = in.next_version();
  return out;
}

absl::StatusOr<absl::Status> StatusFromProto(int32_t code,
                                             const std::string& message,
                                             absl::string_view what) {
  if (code < 0 || code > static_cast<int>(absl::StatusCode::kUnauthenticated)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the log answered status code ", code, " for ", what));
  }
  if (code == 0) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(code), message);
}

namespace {

// The answers of one LookupAccounts call for `n` accounts at `tree_size`.
absl::StatusOr<std::vector<absl::StatusOr<AccountLookupAnswer>>> AnswersOf(
    const v1::AccountLookups& in, size_t n, uint64_t tree_size) {
  if (static_cast<size_t>(in.answers_size()) != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("the log answered ", in.answers_size(), " lookups for ", n,
                     " accounts"));
  }
  if (in.tree_size() != tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("the log answered lookups at tree size ", in.tree_size(),
                     ", not at the ", tree_size, " asked for"));
  }
  std::vector<absl::StatusOr<AccountLookupAnswer>> out;
  out.reserve(n);
  for (int i = 0; i < in.answers_size(); ++i) {
    const v1::AccountLookups::Answer& a = in.answers(i);
    ASSIGN_OR_RETURN(
        absl::Status status,
        StatusFromProto(a.code(), a.message(), absl::StrCat("lookup ", i)));
    absl::StatusCode code = status.code();
    if ((code == absl::StatusCode::kOk) != a.has_lookup()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the log answered lookup ", i,
          code == absl::StatusCode::kOk ? " with no lookup"
                                        : " with both a lookup and an error"));
    }
    if (code != absl::StatusCode::kOk) {
      out.push_back(std::move(status));
    } else {
      out.push_back(ktlog::FromProto(a.lookup()));
    }
  }
  return out;
}

}  // namespace

std::vector<absl::StatusOr<AccountLookupAnswer>> LookUpInCalls(
    const std::vector<LookupAsk>& asks, uint64_t tree_size,
    const LookupsCall& call) {
  std::vector<absl::StatusOr<AccountLookupAnswer>> out(asks.size());
  std::deque<size_t> todo;  // indexes into asks, in the order to ask
  for (size_t i = 0; i < asks.size(); ++i) todo.push_back(i);
  while (!todo.empty()) {
    std::vector<size_t> asked;
    v1::LookupAccountsRequest req;
    req.set_tree_size(tree_size);
    while (!todo.empty() && asked.size() < kMaxLookupsPerCall) {
      asked.push_back(todo.front());
      todo.pop_front();
      v1::LookupAccountsRequest::Account* a = req.add_accounts();
      a->set_account_id(asks[asked.back()].account_id);
      a->set_with_first_record(asks[asked.back()].with_first_record);
    }
    v1::AccountLookups resp;
    absl::Status s = call(req, &resp);
    absl::StatusOr<std::vector<absl::StatusOr<AccountLookupAnswer>>> answers =
        s.ok() ? AnswersOf(resp, asked.size(), tree_size) : s;
    // ABORTED (the call's answer was full) or RESOURCE_EXHAUSTED (the rate
    // limit let the call look up only some): not looked up, ask again, as
    // long as each call answers some.
    std::vector<size_t> again;
    for (size_t k = 0; k < asked.size(); ++k) {
      if (!answers.ok()) {
        out[asked[k]] = answers.status();
        continue;
      }
      const absl::Status& status = (*answers)[k].status();
      if (absl::IsAborted(status) || absl::IsResourceExhausted(status)) {
        again.push_back(asked[k]);
      }
      out[asked[k]] = std::move((*answers)[k]);
    }
    if (again.size() < asked.size()) {
      todo.insert(todo.begin(), again.begin(), again.end());
    }
  }
  return out;
}

}  // namespace ktlog
