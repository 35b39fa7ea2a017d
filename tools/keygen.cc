// ktlog-keygen: makes a log's keys (checkpoint signing key and VRF key), a
// witness's cosigning key, or a registration key, and prints what others
// pin: the log key string (core/note/log_key.h) or the witness's verifier
// key (a registration key is secret, shared only with the registration
// service).
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "core/account/registration.h"
#include "core/crypto/vrf.h"
#include "core/note/key_file.h"
#include "core/note/note.h"
#include "core/util/flags.h"

namespace {

int Fail(absl::string_view msg, int code) {
  std::cerr << "ktlog-keygen: " << msg << std::endl;
  return code;
}

// What others pin for the keys in `keys`: a log's log key, a witness's
// verifier key.
int Show(const std::string& path) {
  absl::StatusOr<ktlog::KeyFile> keys = ktlog::LoadKeyFile(path);
  if (!keys.ok()) return Fail(keys.status().message(), 1);
  if (!keys->vrf.has_value()) {
    std::cout << keys->signer.verifier_key().ToString() << "\n";
    return 0;
  }
  absl::StatusOr<ktlog::LogPublicKey> key = ktlog::LogPublicKeyOf(*keys);
  if (!key.ok()) return Fail(key.status().message(), 1);
  std::cout << key->ToString() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name, out, show, type = "log";
  ktlog::FlagSet flags(
      "usage: ktlog-keygen --name=NAME --out=FILE [--type=log|witness]\n"
      "       ktlog-keygen --type=registration --out=FILE\n"
      "       ktlog-keygen --replica_key_from=LOG_KEY_FILE --out=FILE\n"
      "       ktlog-keygen --show=FILE\n\n"
      "Writes new keys to FILE (mode 0600; never overwrites) and prints what\n"
      "others pin. For a log (the default): an Ed25519 checkpoint signing\n"
      "key named NAME, the log's origin (e.g. example.com/ktlog), and a VRF\n"
      "key; it prints the log's keys, \"<verifier key>,vrf=<VRF key>\". What\n"
      "clients pin is the log key ktlog-server prints at start: these keys\n"
      "with the witness policy (,witness=...,quorum=N) added; publish that\n"
      "one. For a witness: an Ed25519 cosigning key; it prints\n"
      "the witness's verifier key, which the log and clients list. For\n"
      "registration: the secret key with which the operator's registration\n"
      "service issues credentials (ktlog-admin credential) and the log checks\n"
      "them (ktlog-server --registration_key); it prints nothing. With\n"
      "--replica_key_from: a read replica's key file, the log's VRF key\n"
      "without its checkpoint signing key (ktlog-server --replica_of).");
  flags.String("name", &name, "key name (a log's origin, or a witness's name)");
  flags.String("out", &out, "file to write the private keys to");
  flags.String("type", &type,
               "log (checkpoint signing and VRF), witness (cosigning) or "
               "registration (account creation credentials)");
  std::string replica_from;
  flags.String("replica_key_from", &replica_from,
               "write a read replica's key file from this log key file");
  flags.String("show", &show,
               "print the log key or witness verifier key of a key file");
  std::vector<std::string> args;
  int exit_code;
  if (!ktlog::ParseMainFlags(flags, argc, argv, "ktlog-keygen", &args,
                             &exit_code)) {
    return exit_code;
  }
  if (!args.empty()) return Fail("unexpected argument " + args[0], 2);
  if (!show.empty()) return Show(show);
  if (!replica_from.empty()) {
    if (out.empty()) return Fail("--out is required", 2);
    absl::StatusOr<ktlog::KeyFile> keys = ktlog::LoadKeyFile(replica_from);
    if (!keys.ok()) return Fail(keys.status().message(), 1);
    if (!keys->vrf.has_value()) {
      return Fail(replica_from + " is not a log key file (no VRF key)", 1);
    }
    absl::Status s = ktlog::WriteReplicaKeyFile(out, *keys->vrf);
    return s.ok() ? 0 : Fail(s.message(), 1);
  }
  if (type == "registration") {
    if (out.empty()) return Fail("--out is required", 2);
    absl::Status s = ktlog::RegistrationKey::Generate().Save(out);
    return s.ok() ? 0 : Fail(s.message(), 1);
  }
  if (name.empty() || out.empty()) {
    return Fail("--name and --out are required", 2);
  }
  if (type != "log" && type != "witness") {
    return Fail("--type must be log, witness or registration", 2);
  }
  bool log = type == "log";
  auto signer = ktlog::NoteSigner::Generate(
      name, log ? ktlog::kNoteTypeEd25519 : ktlog::kNoteTypeCosignatureV1);
  if (!signer.ok()) return Fail(signer.status().message(), 2);
  std::optional<ktlog::VrfPrivateKey> vrf;
  if (log) vrf = ktlog::VrfPrivateKey::Generate();
  absl::Status s =
      ktlog::WriteKeyFile(out, *signer, vrf.has_value() ? &*vrf : nullptr);
  if (!s.ok()) return Fail(s.message(), 1);
  if (log) {
    std::cout << ktlog::LogPublicKey{signer->verifier_key(), vrf->public_key()}
                     .ToString()
              << "\n";
  } else {
    std::cout << signer->verifier_key().ToString() << "\n";
  }
  return 0;
}
