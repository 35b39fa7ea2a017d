#include "core/note/checkpoint.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/util/bytes.h"
#include "core/util/status_macros.h"

namespace ktlog {
namespace {

constexpr absl::string_view kIndexRootPrefix = "index-root ";
constexpr absl::string_view kTimestampPrefix = "timestamp-ms ";

}  // namespace

std::string Checkpoint::ToBody() const {
  std::string out =
      absl::StrCat(origin, "\n", size, "\n", root.ToBase64(), "\n");
  for (const std::string& e : extensions) absl::StrAppend(&out, e, "\n");
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpointBody(absl::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError(
        "checkpoint body does not end with a newline");
  }
  text.remove_suffix(1);
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (lines.size() < 3) {
    return absl::InvalidArgumentError(
        "checkpoint body needs origin, size and root hash lines");
  }
  Checkpoint c;
  if (lines[0].empty() || !IsPrintableUtf8(lines[0])) {
    return absl::InvalidArgumentError(
        "checkpoint origin must be non-empty printable UTF-8");
  }
  c.origin = std::string(lines[0]);
  absl::StatusOr<uint64_t> size = ParseDecimalU64(lines[1]);
  if (!size.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint tree size: ", size.status().message()));
  }
  c.size = *size;
  absl::StatusOr<Hash> root = Hash::FromBase64(lines[2]);
  if (!root.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint root hash must be base64 of 32 bytes: ",
                     root.status().message()));
  }
  c.root = *root;
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) {
      return absl::InvalidArgumentError("checkpoint extension line is empty");
    }
    c.extensions.push_back(std::string(lines[i]));
  }
  return c;
}

std::string LogCheckpoint::ToBody() const {
  Checkpoint c{origin,
               size,
               root,
               {absl::StrCat(kIndexRootPrefix, index_root.ToBase64()),
                absl::StrCat(kTimestampPrefix, timestamp_ms)}};
  return c.ToBody();
}

absl::StatusOr<LogCheckpoint> ParseLogCheckpointBody(absl::string_view text) {
  ASSIGN_OR_RETURN(Checkpoint c, ParseCheckpointBody(text));
  if (c.extensions.size() != 2 ||
      !absl::StartsWith(c.extensions[0], kIndexRootPrefix) ||
      !absl::StartsWith(c.extensions[1], kTimestampPrefix)) {
    return absl::InvalidArgumentError(
        "a ktlog checkpoint has exactly two extension lines, "
        "\"index-root <base64>\" and \"timestamp-ms <milliseconds>\"");
  }
  absl::StatusOr<Hash> index_root = Hash::FromBase64(
      absl::string_view(c.extensions[0]).substr(kIndexRootPrefix.size()));
  if (!index_root.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint index root: ", index_root.status().message()));
  }
  absl::StatusOr<uint64_t> ts = ParseDecimalU64(
      absl::string_view(c.extensions[1]).substr(kTimestampPrefix.size()));
  if (!ts.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint timestamp: ", ts.status().message()));
  }
  return LogCheckpoint{c.origin, c.size, c.root, *index_root, *ts};
}

std::string SignLogCheckpoint(const LogCheckpoint& checkpoint,
                              const NoteSigner& signer) {
  Note note;
  note.text = checkpoint.ToBody();
  note.signatures.push_back(SignNote(note.text, signer));
  return note.ToString();
}

absl::StatusOr<LogCheckpoint> OpenLogCheckpoint(
    absl::string_view note_text, const NoteVerifierKey& log_key) {
  ASSIGN_OR_RETURN(Note note, ParseNote(note_text));
  RETURN_IF_ERROR(VerifyNoteSignature(note, log_key));
  ASSIGN_OR_RETURN(LogCheckpoint cp, ParseLogCheckpointBody(note.text));
  if (cp.origin != log_key.name) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint origin \"", cp.origin,
                     "\" is not the log key's name \"", log_key.name, "\""));
  }
  return cp;
}

}  // namespace ktlog
