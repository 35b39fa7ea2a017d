#include "core/note/add_checkpoint.h"

#include "absl/strings/str_cat.h"
#include "core/util/bytes.h"

namespace ktlog {
namespace {

absl::Status Bad(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "not an add-checkpoint request (c2sp.org/tlog-witness): ", why));
}

}  // namespace

absl::StatusOr<AddCheckpointRequest> ParseAddCheckpoint(
    absl::string_view body) {
  if (body.size() > kMaxAddCheckpointBody) {
    return Bad(absl::StrCat("longer than ", kMaxAddCheckpointBody, " bytes"));
  }
  AddCheckpointRequest out;
  size_t end = body.find('\n');
  if (end == absl::string_view::npos || body.substr(0, 4) != "old ") {
    return Bad("the first line is not \"old <size>\"");
  }
  absl::string_view size = body.substr(4, end - 4);
  absl::StatusOr<uint64_t> old = ParseDecimalU64(size);
  if (!old.ok()) {
    return Bad("the old size is not a decimal without leading zeros");
  }
  out.old_size = *old;
  body.remove_prefix(end + 1);
  for (;;) {
    end = body.find('\n');
    if (end == absl::string_view::npos) return Bad("no empty line");
    absl::string_view line = body.substr(0, end);
    body.remove_prefix(end + 1);
    if (line.empty()) break;
    if (out.proof.size() == kMaxAddCheckpointProof) {
      return Bad(absl::StrCat("more than ", kMaxAddCheckpointProof,
                              " consistency proof lines"));
    }
    absl::StatusOr<std::string> bytes = Base64Decode(line);
    absl::StatusOr<Hash> hash =
        bytes.ok() ? Hash::FromBytes(*bytes) : bytes.status();
    if (!hash.ok()) {
      return Bad(absl::StrCat("proof line ", out.proof.size() + 1,
                              " is not one base64 SHA-256 hash"));
    }
    out.proof.push_back(*hash);
  }
  if (out.old_size == 0 && !out.proof.empty()) {
    return Bad("a proof from size 0 must be empty");
  }
  out.checkpoint = std::string(body);
  return out;
}

std::string FormatAddCheckpoint(const AddCheckpointRequest& request) {
  std::string out = absl::StrCat("old ", request.old_size, "\n");
  for (const Hash& h : request.proof) {
    absl::StrAppend(&out, Base64Encode(h.bytes()), "\n");
  }
  absl::StrAppend(&out, "\n", request.checkpoint);
  return out;
}

}  // namespace ktlog
