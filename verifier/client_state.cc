#include "verifier/client_state.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/bytes.h"
#include "core/file_util.h"
#include "nlohmann/json.hpp"

namespace ktlog {
namespace {

constexpr char kFormat[] = "ktctl-state/1";
constexpr size_t kMaxStateSize = 16 * 1024 * 1024;

std::string StatePath(const std::string& dir) { return dir + "/state.json"; }

}  // namespace

absl::StatusOr<ClientState> LoadClientState(const std::string& dir) {
  absl::StatusOr<std::string> text =
      ReadFileBounded(StatePath(dir), kMaxStateSize);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(
          absl::StrCat("no ktctl state in ", dir, "; run `ktctl init` first"));
    }
    return text.status();
  }
  auto corrupt = [&dir](absl::string_view why) {
    return absl::FailedPreconditionError(absl::StrCat(
        StatePath(dir), " is not a usable ktctl state (", why,
        "); it was not changed. Restore it from a backup or move it away and "
        "run `ktctl init` to start over (trust starts afresh)"));
  };
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return corrupt("not JSON");
  try {
    if (j.value("format", "") != kFormat) return corrupt("unknown format");
    ClientState s;
    s.log_verifier_key = j.at("log_verifier_key").get<std::string>();
    s.account_id = j.at("account_id").get<std::string>();
    s.device_id = j.at("device_id").get<std::string>();
    s.account_version = j.at("account_version").get<uint64_t>();
    for (const auto& [id, key] : j.at("approved_devices").items()) {
      absl::StatusOr<std::string> bytes = HexDecode(key.get<std::string>());
      if (!bytes.ok()) return corrupt("bad device key");
      s.approved_devices[id] = *bytes;
    }
    s.trusted_checkpoint = j.at("trusted_checkpoint").get<std::string>();
    return s;
  } catch (const nlohmann::json::exception& e) {
    return corrupt(e.what());
  }
}

absl::Status SaveClientState(const std::string& dir, const ClientState& s) {
  nlohmann::json j;
  j["format"] = kFormat;
  j["log_verifier_key"] = s.log_verifier_key;
  j["account_id"] = s.account_id;
  j["device_id"] = s.device_id;
  j["account_version"] = s.account_version;
  j["approved_devices"] = nlohmann::json::object();
  for (const auto& [id, key] : s.approved_devices) {
    j["approved_devices"][id] = HexEncode(key);
  }
  j["trusted_checkpoint"] = s.trusted_checkpoint;
  return WriteFileAtomically(StatePath(dir), j.dump(1) + "\n", 0600);
}

absl::Status WritePrivateKeyFile(const std::string& path,
                                 const Ed25519PrivateKey& key) {
  return CreateSecretFile(path, HexEncode(key.seed()) + "\n");
}

absl::StatusOr<Ed25519PrivateKey> ReadPrivateKeyFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileBounded(path, 1024);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::string> seed =
      HexDecode(absl::StripAsciiWhitespace(*text));
  if (!seed.ok() || seed->size() != Ed25519PrivateKey::kSeedSize) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a private key file (64 hex digits)"));
  }
  return Ed25519PrivateKey::FromSeed(*seed);
}

}  // namespace ktlog
