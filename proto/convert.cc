#include "proto/convert.h"

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

void ToProto(const ProvedRecord& in, v1::ProvedRecord* out) {
  out->set_leaf_index(in.leaf_index);
  out->set_record(in.record);
  HashesToProto(in.inclusion_proof, out->mutable_inclusion_proof());
}

absl::StatusOr<std::vector<ProvedRecord>> FromProto(
    const google::protobuf::RepeatedPtrField<v1::ProvedRecord>& in) {
  std::vector<ProvedRecord> out;
  out.reserve(in.size());
  for (const v1::ProvedRecord& p : in) {
    ProvedRecord r;
    r.leaf_index = p.leaf_index();
    r.record = p.record();
    ASSIGN_OR_RETURN(r.inclusion_proof,
                     HashesFromProto(p.inclusion_proof(), "inclusion proof"));
    out.push_back(std::move(r));
  }
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
  out->set_index_proof(in.index_proof);
  out->set_account_state(in.account_state);
  for (const ProvedRecord& p : in.devices) ToProto(p, out->add_devices());
  for (const ProvedRecord& p : in.key_records) {
    ToProto(p, out->add_key_records());
  }
}

absl::StatusOr<AccountLookupAnswer> FromProto(const v1::AccountLookup& in) {
  AccountLookupAnswer out;
  out.checkpoint_note = in.checkpoint().note();
  out.tree_size = in.tree_size();
  out.index_proof = in.index_proof();
  out.account_state = in.account_state();
  ASSIGN_OR_RETURN(out.devices, FromProto(in.devices()));
  ASSIGN_OR_RETURN(out.key_records, FromProto(in.key_records()));
  return out;
}

void ToProto(const AccountHistoryAnswer& in, v1::AccountHistory* out) {
  if (!in.checkpoint_note.empty()) {
    out->mutable_checkpoint()->set_note(in.checkpoint_note);
  }
  out->set_tree_size(in.tree_size);
  for (const ProvedRecord& p : in.records) ToProto(p, out->add_records());
  out->set_next_version(in.next_version);
}

absl::StatusOr<AccountHistoryAnswer> FromProto(const v1::AccountHistory& in) {
  AccountHistoryAnswer out;
  out.checkpoint_note = in.checkpoint().note();
  out.tree_size = in.tree_size();
  ASSIGN_OR_RETURN(out.records, FromProto(in.records()));
  out.next_version = in.next_version();
  return out;
}

}  // namespace ktlog
