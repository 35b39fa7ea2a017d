#include "verifier/client_state.h"

#include <set>
#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/note/checkpoint.h"
#include "core/note/log_key.h"
#include "core/note/note.h"
#include "core/util/bytes.h"
#include "core/util/file_util.h"
#include "core/util/json_util.h"
#include "core/util/status_macros.h"
#include "nlohmann/json.hpp"

namespace ktlog {
namespace {

// 1 pinned a log without the private directory (a plain verifier key) and
// keyed pending records by leaf hash; 2 held account states of format 2
// (docs/formats.md), for logs whose key chains had no first key.
constexpr char kFormat[] = "ktctl-state/3";
constexpr char kOldFormat[] = "ktctl-state/1";
constexpr char kFormat2[] = "ktctl-state/2";
constexpr size_t kMaxStateSize = 64 * 1024 * 1024;

std::string StatePath(const std::string& dir) { return dir + "/state.json"; }

nlohmann::json HexMap(const std::map<std::string, std::string>& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = HexEncode(v);
  return j;
}

// Throw std::exception (nlohmann's or runtime_error) on bad input; the
// loader catches them.
std::map<std::string, std::string> UnhexMap(const nlohmann::json& j) {
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : j.items()) {
    absl::StatusOr<std::string> bytes = HexDecode(v.get<std::string>());
    if (!bytes.ok()) throw std::runtime_error("bad hex in " + k);
    m[k] = *bytes;
  }
  return m;
}

std::string Unhex(const nlohmann::json& j) {
  absl::StatusOr<std::string> bytes = HexDecode(j.get<std::string>());
  if (!bytes.ok()) throw std::runtime_error("bad hex");
  return *bytes;
}

}  // namespace

absl::Status CheckWitnessPolicy(const CheckingPolicy& policy) {
  std::set<std::string> keys;
  for (const std::string& text : policy.witnesses) {
    absl::StatusOr<NoteVerifierKey> w = NoteVerifierKey::Parse(text);
    if (!w.ok() || w->type != kNoteTypeCosignatureV1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", text, "\" is not a witness verifier key (type 0x04)"));
    }
    if (!keys.insert(w->key.bytes()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "witness ", w->name,
          " is listed twice (the same public key, under this or another "
          "name): a witness counts once toward the quorum"));
    }
  }
  if (policy.witness_quorum > policy.witnesses.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the witness quorum ", policy.witness_quorum,
                     " exceeds the ", policy.witnesses.size(), " witness(es)"));
  }
  return absl::OkStatus();
}

void SetPolicy(ClientState* state, CheckingPolicy policy) {
  bool witnessing_changed =
      policy.witnesses != state->policy.witnesses ||
      policy.witness_quorum != state->policy.witness_quorum;
  state->policy = std::move(policy);
  if (witnessing_changed) DistrustCheckpoint(state);
}

void DistrustCheckpoint(ClientState* state) {
  if (state->trusted_checkpoint.empty()) return;
  // The larger of the two notes stays as the seen checkpoint. Both were
  // verified with the pinned key when trusted; compare their sizes.
  auto size_of = [](const std::string& note) -> uint64_t {
    absl::StatusOr<Note> n = ParseNote(note);
    if (!n.ok()) return 0;
    absl::StatusOr<LogCheckpoint> cp = ParseLogCheckpointBody(n->text);
    return cp.ok() ? cp->size : 0;
  };
  if (state->seen_checkpoint.empty() ||
      size_of(state->trusted_checkpoint) >= size_of(state->seen_checkpoint)) {
    state->seen_checkpoint = state->trusted_checkpoint;
  }
  state->trusted_checkpoint.clear();
}

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
  return ParseClientState(*text, StatePath(dir));
}

namespace {

// One contact of a state file; throws (as Unhex does) if malformed.
ContactState ContactFromJson(const nlohmann::json& c) {
  ContactState contact;
  contact.verified_key = Unhex(c.at("verified_key"));
  contact.verified_devices = UnhexMap(c.at("verified_devices"));
  contact.first_key = Unhex(c.at("first_key"));
  contact.seen_key = Unhex(c.at("seen_key"));
  contact.seen_version = c.at("seen_version").get<uint64_t>();
  contact.seen_devices = UnhexMap(c.at("seen_devices"));
  contact.seen_chain = c.at("seen_chain").get<std::vector<std::string>>();
  // Absent from states saved before it was kept.
  contact.answered_ms = c.value("answered_ms", uint64_t{0});
  return contact;
}

// The trust backup of a state file; throws if malformed.
TrustBackupState BackupFromJson(const nlohmann::json& b) {
  TrustBackupState backup;
  backup.latest.version = b.at("version").get<uint64_t>();
  std::string hash = Unhex(b.at("hash"));
  if (hash.size() != Hash::kSize) throw std::runtime_error("backup hash");
  backup.latest.hash = Hash::FromBytesOrDie(hash);
  backup.uploaded = b.at("uploaded").get<bool>();
  backup.record_version = b.value("record_version", uint64_t{0});
  backup.automatic = b.value("automatic", false);
  backup.trust_hash = b.value("trust_hash", "");
  backup.key = Unhex(b.at("key"));
  if (!backup.key.empty() && backup.key.size() != kBackupKeySize) {
    throw std::runtime_error("backup key");
  }
  for (const auto& w : b.at("wraps")) {
    BackupWrap wrap;
    int type = w.at("type").get<int>();
    if (type < static_cast<int>(WrapType::kRecoveryKey) ||
        type > static_cast<int>(WrapType::kSecurityKey)) {
      throw std::runtime_error("backup wrap type");
    }
    wrap.type = static_cast<WrapType>(type);
    wrap.salt = Unhex(w.at("salt"));
    wrap.ops = w.at("ops").get<uint64_t>();
    wrap.memory = w.at("memory").get<uint64_t>();
    wrap.rp_id = w.value("rp_id", "");
    wrap.credential_id = Unhex(w.value("credential_id", ""));
    wrap.nonce = Unhex(w.at("nonce"));
    wrap.wrapped = Unhex(w.at("wrapped"));
    backup.wraps.push_back(std::move(wrap));
  }
  if (backup.key.empty() != backup.wraps.empty() ||
      backup.wraps.size() > kMaxBackupWraps) {
    throw std::runtime_error("backup wraps");
  }
  return backup;
}

nlohmann::json BackupToJson(const TrustBackupState& backup) {
  nlohmann::json wraps = nlohmann::json::array();
  for (const BackupWrap& w : backup.wraps) {
    wraps.push_back({{"type", static_cast<int>(w.type)},
                     {"salt", HexEncode(w.salt)},
                     {"ops", w.ops},
                     {"memory", w.memory},
                     {"rp_id", w.rp_id},
                     {"credential_id", HexEncode(w.credential_id)},
                     {"nonce", HexEncode(w.nonce)},
                     {"wrapped", HexEncode(w.wrapped)}});
  }
  return {{"version", backup.latest.version},
          {"hash", backup.latest.hash.ToHex()},
          {"uploaded", backup.uploaded},
          {"record_version", backup.record_version},
          {"automatic", backup.automatic},
          {"trust_hash", backup.trust_hash},
          {"key", HexEncode(backup.key)},
          {"wraps", wraps}};
}

}  // namespace

absl::StatusOr<ClientState> ParseClientState(const std::string& text,
                                             const std::string& path) {
  auto corrupt = [&path](absl::string_view why) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " is not a usable ktctl state (", why,
        "); it was not changed. Restore it from a backup or move it away and "
        "run `ktctl init` to start over (trust starts afresh)"));
  };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return corrupt("not JSON");
  try {
    std::string format = j.value("format", "");
    if (format == kOldFormat) {
      return absl::FailedPreconditionError(absl::StrCat(
          path,
          " was made by an earlier ktctl for a log without the private "
          "directory (format ",
          kOldFormat,
          "); it was not changed. Such a log cannot answer this ktctl: move "
          "the state directory away and run `ktctl init` with the new log's "
          "key"));
    }
    if (format == kFormat2) {
      return absl::FailedPreconditionError(absl::StrCat(
          path,
          " was made by an earlier ktctl, for a log whose account states do "
          "not anchor their key chains at the account's first record (format ",
          kFormat2,
          "); it was not changed. Such a log cannot answer this ktctl: move "
          "the state directory away and run `ktctl init` with the new log's "
          "key"));
    }
    if (format != kFormat) return corrupt("unknown format");
    ClientState s;
    s.log_key = j.at("log_key").get<std::string>();
    s.account_id = j.at("account_id").get<std::string>();
    s.device_id = j.at("device_id").get<std::string>();
    std::string own = Unhex(j.at("own_state"));
    if (!own.empty()) {
      absl::StatusOr<AccountState> state = DecodeAccountState(own);
      if (!state.ok()) return corrupt("bad own account state");
      s.own_state = *std::move(state);
    }
    s.own_unverified_since_ms = j.value("own_unverified_since_ms", uint64_t{0});
    s.own_check_failed_ms = j.value("own_check_failed_ms", uint64_t{0});
    const nlohmann::json& pending = j.at("pending_own");
    if (pending.is_array()) {
      // Written before versions were kept: most likely the next version.
      for (const auto& h : pending) {
        s.pending_own[h.get<std::string>()] = {s.own_state.version + 1};
      }
    } else {
      for (const auto& [hash, p] : pending.items()) {
        s.pending_own[hash] = {
            p.at("version").get<uint64_t>(), p.value("refused", false),
            p.value("acknowledged", false), p.value("leaf_index", uint64_t{0})};
      }
    }
    s.approved_devices = UnhexMap(j.at("approved_devices"));
    s.own_authority = Unhex(j.value("own_authority", ""));
    s.access_seed = Unhex(j.value("access_seed", ""));
    s.access_grant = Unhex(j.value("access_grant", ""));
    s.next_access_grant = Unhex(j.value("next_access_grant", ""));
    if (!s.access_seed.empty() &&
        s.access_seed.size() != Ed25519PrivateKey::kSeedSize) {
      throw std::runtime_error("access_seed is not 32 bytes");
    }
    s.trusted_checkpoint = j.at("trusted_checkpoint").get<std::string>();
    s.seen_checkpoint = j.value("seen_checkpoint", "");
    for (const auto& [id, c] : j.at("contacts").items()) {
      s.contacts[id] = ContactFromJson(c);
    }
    for (const auto& a : j.at("alerts")) {
      Alert alert;
      if (!Alert::FromJson(a, &alert)) return corrupt("bad alert");
      s.alerts.push_back(std::move(alert));
    }
    const auto& policy = j.at("policy");
    s.policy.max_checkpoint_age_ms =
        policy.at("max_checkpoint_age_ms").get<uint64_t>();
    s.policy.max_future_skew_ms =
        policy.at("max_future_skew_ms").get<uint64_t>();
    s.policy.witnesses = policy.at("witnesses").get<std::vector<std::string>>();
    s.policy.witness_quorum = policy.at("witness_quorum").get<uint32_t>();
    s.policy.max_own_check_delay_ms =
        policy.at("max_own_check_delay_ms").get<uint64_t>();
    if (absl::Status p = CheckWitnessPolicy(s.policy); !p.ok()) {
      return corrupt(p.message());
    }
    if (j.contains("backup")) s.backup = BackupFromJson(j.at("backup"));
    return s;
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
}

absl::Status SaveClientState(const std::string& dir, const ClientState& s) {
  return WriteFileAtomically(StatePath(dir), SerializeClientState(s), 0600);
}

std::string SerializeClientState(const ClientState& s) {
  nlohmann::json j;
  j["format"] = kFormat;
  j["log_key"] = s.log_key;
  j["account_id"] = s.account_id;
  j["device_id"] = s.device_id;
  j["own_state"] = s.own_state.exists() ? HexEncode(s.own_state.Encode()) : "";
  j["own_unverified_since_ms"] = s.own_unverified_since_ms;
  j["own_check_failed_ms"] = s.own_check_failed_ms;
  j["pending_own"] = nlohmann::json::object();
  for (const auto& [hash, p] : s.pending_own) {
    j["pending_own"][hash] = {{"version", p.version},
                              {"refused", p.refused},
                              {"acknowledged", p.acknowledged},
                              {"leaf_index", p.leaf_index}};
  }
  j["approved_devices"] = HexMap(s.approved_devices);
  j["own_authority"] = HexEncode(s.own_authority);
  j["access_seed"] = HexEncode(s.access_seed);
  j["access_grant"] = HexEncode(s.access_grant);
  j["next_access_grant"] = HexEncode(s.next_access_grant);
  j["trusted_checkpoint"] = s.trusted_checkpoint;
  j["seen_checkpoint"] = s.seen_checkpoint;
  j["contacts"] = nlohmann::json::object();
  for (const auto& [id, c] : s.contacts) {
    j["contacts"][id] = {{"verified_key", HexEncode(c.verified_key)},
                         {"verified_devices", HexMap(c.verified_devices)},
                         {"first_key", HexEncode(c.first_key)},
                         {"seen_key", HexEncode(c.seen_key)},
                         {"seen_version", c.seen_version},
                         {"seen_devices", HexMap(c.seen_devices)},
                         {"seen_chain", c.seen_chain},
                         {"answered_ms", c.answered_ms}};
  }
  j["alerts"] = nlohmann::json::array();
  for (const Alert& a : s.alerts) j["alerts"].push_back(a.ToJson());
  j["policy"] = {{"max_checkpoint_age_ms", s.policy.max_checkpoint_age_ms},
                 {"max_future_skew_ms", s.policy.max_future_skew_ms},
                 {"witnesses", s.policy.witnesses},
                 {"witness_quorum", s.policy.witness_quorum},
                 {"max_own_check_delay_ms", s.policy.max_own_check_delay_ms}};
  j["backup"] = BackupToJson(s.backup);
  return JsonText(j, 1) + "\n";
}

absl::StatusOr<LogPublicKey> PinnedLogKey(const ClientState& state) {
  absl::StatusOr<LogPublicKey> key = LogPublicKey::Parse(state.log_key);
  if (!key.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the state's pinned log key is unusable: ", key.status().message()));
  }
  return key;
}

size_t UnverifiedOwn(const ClientState& state) {
  size_t n = 0;
  for (const auto& [hash, p] : state.pending_own) n += p.refused ? 0 : 1;
  return n;
}

absl::StatusOr<ClientState> NewClientState(const std::string& log_key,
                                           const std::string& account_id,
                                           const std::string& device_id,
                                           bool allow_no_witnesses) {
  absl::StatusOr<LogPublicKey> key = LogPublicKey::Parse(log_key);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a log key: ", key.status().message()));
  }
  if (key->witnesses.empty() && !allow_no_witnesses) {
    return absl::FailedPreconditionError(
        "the log key names no witnesses: without them this client cannot "
        "tell whether the log shows it the same history as everyone else "
        "(a compromised log could show you a device that is not there)");
  }
  DeviceRecord probe;  // the ids as the log checks them
  probe.account_id = account_id;
  probe.device_id = device_id;
  probe.key = std::string(32, 'k');
  probe.account_version = 1;
  probe.account_key = std::string(32, 'a');
  probe.signature = std::string(64, 's');
  RETURN_IF_ERROR(probe.Validate());
  ClientState state;
  state.log_key = key->IdentityString();
  for (const NoteVerifierKey& w : key->witnesses) {
    state.policy.witnesses.push_back(w.ToString());
  }
  state.policy.witness_quorum = key->quorum;
  state.account_id = account_id;
  state.device_id = device_id;
  return state;
}

absl::Status WritePrivateKeyFile(const std::string& path,
                                 const Ed25519PrivateKey& key) {
  return CreateSecretFile(path, HexEncode(key.seed()) + "\n");
}

absl::StatusOr<Ed25519PrivateKey> ReadPrivateKeyFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSecretFile(path, 1024);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::string> seed =
      HexDecode(absl::StripAsciiWhitespace(*text));
  WipeSecret(&*text);
  if (!seed.ok() || seed->size() != Ed25519PrivateKey::kSeedSize) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a private key file (64 hex digits)"));
  }
  absl::StatusOr<Ed25519PrivateKey> key = Ed25519PrivateKey::FromSeed(*seed);
  WipeSecret(&*seed);
  return key;
}

}  // namespace ktlog
