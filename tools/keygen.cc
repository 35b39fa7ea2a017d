// ktlog-keygen: makes a note signing key (a log's checkpoint key, or a
// witness's cosigning key) and prints its verifier key.
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "core/note/key_file.h"
#include "core/note/note.h"
#include "core/util/flags.h"

int main(int argc, char** argv) {
  std::string name, out, show, type = "log";
  ktlog::FlagSet flags(
      "usage: ktlog-keygen --name=NAME --out=FILE [--type=log|witness]\n"
      "       ktlog-keygen --show=FILE\n\n"
      "Writes a new Ed25519 note signing key to FILE (mode 0600; never\n"
      "overwrites) and prints its verifier key, which clients pin. For a log,\n"
      "NAME is its origin, e.g. example.com/ktlog.");
  flags.String("name", &name, "key name (a log's origin, or a witness's name)");
  flags.String("out", &out, "file to write the private key to");
  flags.String("type", &type,
               "log (checkpoint signing) or witness (cosigning)");
  flags.String("show", &show, "print the verifier key of an existing key file");
  auto fail = [](const std::string& msg, int code) {
    fprintf(stderr, "ktlog-keygen: %s\n", msg.c_str());
    return code;
  };
  std::vector<std::string> args;
  int exit_code;
  if (!ktlog::ParseMainFlags(flags, argc, argv, "ktlog-keygen", &args,
                             &exit_code)) {
    return exit_code;
  }
  if (!args.empty()) return fail("unexpected argument " + args[0], 2);
  if (!show.empty()) {
    auto signer = ktlog::LoadSignerKeyFile(show);
    if (!signer.ok()) return fail(std::string(signer.status().message()), 1);
    std::cout << signer->verifier_key().ToString() << "\n";
    return 0;
  }
  if (name.empty() || out.empty())
    return fail("--name and --out are required", 2);
  uint8_t note_type;
  if (type == "log") {
    note_type = ktlog::kNoteTypeEd25519;
  } else if (type == "witness") {
    note_type = ktlog::kNoteTypeCosignatureV1;
  } else {
    return fail("--type must be log or witness", 2);
  }
  auto signer = ktlog::NoteSigner::Generate(name, note_type);
  if (!signer.ok()) return fail(std::string(signer.status().message()), 2);
  absl::Status s = ktlog::WriteSignerKeyFile(out, *signer);
  if (!s.ok()) return fail(std::string(s.message()), 1);
  std::cout << signer->verifier_key().ToString() << "\n";
  return 0;
}
