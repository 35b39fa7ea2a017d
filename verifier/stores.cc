#include "verifier/stores.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "core/crypto/crypto.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"
#include "core/util/status_macros.h"

namespace ktlog {

absl::StatusOr<ClientState> DirStateStore::Load() {
  return LoadClientState(dir_);
}

absl::Status DirStateStore::Save(const ClientState& state) {
  return SaveClientState(dir_, state);
}

absl::StatusOr<std::string> FileAccountKeyStore::Create() {
  Ed25519PrivateKey key = Ed25519PrivateKey::Generate();
  RETURN_IF_ERROR(WritePrivateKeyFile(Current(), key));
  return key.public_key().bytes();
}

absl::StatusOr<std::string> FileAccountKeyStore::PublicKey() {
  ASSIGN_OR_RETURN(Ed25519PrivateKey key, ReadPrivateKeyFile(Current()));
  return key.public_key().bytes();
}

absl::StatusOr<std::string> FileAccountKeyStore::Sign(
    absl::string_view message) {
  ASSIGN_OR_RETURN(Ed25519PrivateKey key, ReadPrivateKeyFile(Current()));
  return key.Sign(message);
}

absl::StatusOr<std::string> FileAccountKeyStore::SignWithNext(
    absl::string_view message) {
  absl::StatusOr<Ed25519PrivateKey> next = ReadPrivateKeyFile(Next());
  if (absl::IsNotFound(next.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("no new account key is prepared in ", Next()));
  }
  if (!next.ok()) return next.status();
  return next->Sign(message);
}

absl::StatusOr<std::string> FileAccountKeyStore::NextPublicKey() {
  absl::StatusOr<Ed25519PrivateKey> next = ReadPrivateKeyFile(Next());
  if (absl::IsNotFound(next.status())) return std::string();
  if (!next.ok()) return next.status();
  return next->public_key().bytes();
}

absl::StatusOr<std::string> FileAccountKeyStore::PrepareNext() {
  ASSIGN_OR_RETURN(std::string existing, NextPublicKey());
  if (!existing.empty()) return existing;
  Ed25519PrivateKey next = Ed25519PrivateKey::Generate();
  // Atomically: a crash leaves no next key or a whole one, never a torn
  // file that would stop every later rotation.
  std::string text = HexEncode(next.seed()) + "\n";
  absl::Status written = WriteFileAtomically(Next(), text, 0600);
  WipeSecret(&text);
  RETURN_IF_ERROR(written);
  return next.public_key().bytes();
}

absl::Status FileAccountKeyStore::Retire() {
  for (const std::string& file : {Current(), Next()}) {
    if (unlink(file.c_str()) != 0 && errno != ENOENT) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot delete ", file, ": ", strerror(errno)));
    }
  }
  return SyncDir();
}

absl::Status FileAccountKeyStore::PromoteNext() {
  if (rename(Next().c_str(), Current().c_str()) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot move ", Next(), " to ", Current(), ": ", strerror(errno)));
  }
  return SyncDir();  // the rename is durable once the directory is
}

absl::Status FileAccountKeyStore::SyncDir() const {
  int fd = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    if (fd >= 0) close(fd);
    return absl::FailedPreconditionError(
        absl::StrCat("cannot sync ", dir_, ": ", strerror(errno)));
  }
  close(fd);
  return absl::OkStatus();
}

}  // namespace ktlog
