// The C API (verifier/c/ktlog_client.h) over the client library: the app's
// callbacks become a StateStore, an AccountKeyStore and a TransportLog;
// the verifier, OwnAccount and the safety codes do the rest.
#include "verifier/c/ktlog_client.h"

#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/note/log_key.h"
#include "core/util/bytes.h"
#include "core/util/clock.h"
#include "core/util/json_util.h"
#include "core/util/status_macros.h"
#include "nlohmann/json.hpp"
#include "verifier/client_verifier.h"
#include "verifier/contact_code.h"
#include "verifier/own_account.h"
#include "verifier/refusal.h"
#include "verifier/security_key_device.h"
#include "verifier/stores.h"
#include "verifier/transport_log.h"
#include "verifier/trust_backup.h"

struct ktlog_bytes {
  std::string data;
};

namespace ktlog {
namespace {

const uint8_t* Data(const std::string& s) {
  return reinterpret_cast<const uint8_t*>(s.data());
}

// The status a callback returned: OK for 0, else its code (UNKNOWN if it
// is not one) and message.
absl::Status FromApp(int code, const ktlog_bytes& error, const char* what) {
  if (code == 0) return absl::OkStatus();
  if (code < 1 || code > 16)
    code = static_cast<int>(absl::StatusCode::kUnknown);
  return absl::Status(static_cast<absl::StatusCode>(code),
                      error.data.empty()
                          ? absl::StrCat("the app's ", what, " failed")
                          : error.data);
}

// A byte string of exactly `size` bytes from the app, or INTERNAL.
absl::StatusOr<std::string> Sized(const ktlog_bytes& b, size_t size,
                                  const char* what) {
  if (b.data.size() != size) {
    return absl::InternalError(absl::StrCat(
        "the app's ", what, " gave ", b.data.size(), " bytes, not ", size));
  }
  return b.data;
}

class AppStates : public StateStore {
 public:
  explicit AppStates(const ktlog_callbacks* cb) : cb_(cb) {}
  absl::StatusOr<ClientState> Load() override {
    ktlog_bytes out, error;
    RETURN_IF_ERROR(
        FromApp(cb_->load_state(cb_->ctx, &out, &error), error, "load_state"));
    return ParseClientState(out.data, "the app's saved client state");
  }
  absl::Status Save(const ClientState& state) override {
    std::string text = SerializeClientState(state);  // holds secrets
    ktlog_bytes error;
    absl::Status saved =
        FromApp(cb_->save_state(cb_->ctx, Data(text), text.size(), &error),
                error, "save_state");
    WipeSecret(&text);
    return saved;
  }

 private:
  const ktlog_callbacks* cb_;
};

class AppKeys : public AccountKeyStore {
 public:
  explicit AppKeys(const ktlog_callbacks* cb) : cb_(cb) {}
  absl::StatusOr<std::string> PublicKey() override {
    ktlog_bytes key, error;
    RETURN_IF_ERROR(FromApp(cb_->account_public_key(cb_->ctx, &key, &error),
                            error, "account_public_key"));
    return Sized(key, 32, "account_public_key");
  }
  absl::StatusOr<std::string> Sign(absl::string_view message) override {
    ktlog_bytes sig, error;
    RETURN_IF_ERROR(FromApp(
        cb_->account_sign(cb_->ctx,
                          reinterpret_cast<const uint8_t*>(message.data()),
                          message.size(), &sig, &error),
        error, "account_sign"));
    return Sized(sig, 64, "account_sign");
  }
  absl::StatusOr<std::string> PrepareNext() override {
    ktlog_bytes key, error;
    RETURN_IF_ERROR(FromApp(cb_->prepare_next_key(cb_->ctx, &key, &error),
                            error, "prepare_next_key"));
    return Sized(key, 32, "prepare_next_key");
  }
  absl::StatusOr<std::string> NextPublicKey() override {
    ktlog_bytes key, error;
    RETURN_IF_ERROR(FromApp(cb_->next_public_key(cb_->ctx, &key, &error), error,
                            "next_public_key"));
    if (key.data.empty()) return std::string();
    return Sized(key, 32, "next_public_key");
  }
  absl::Status PromoteNext() override {
    ktlog_bytes error;
    return FromApp(cb_->promote_next_key(cb_->ctx, &error), error,
                   "promote_next_key");
  }
  absl::StatusOr<std::string> SignWithNext(absl::string_view message) override {
    if (cb_->next_sign == nullptr) {
      return AccountKeyStore::SignWithNext(message);
    }
    ktlog_bytes sig, error;
    RETURN_IF_ERROR(
        FromApp(cb_->next_sign(cb_->ctx,
                               reinterpret_cast<const uint8_t*>(message.data()),
                               message.size(), &sig, &error),
                error, "next_sign"));
    return Sized(sig, 64, "next_sign");
  }

 private:
  const ktlog_callbacks* cb_;
};

// The app's security key (key_make_credential, key_get_assertion).
class AppSecurityKey : public SecurityKeyDevice {
 public:
  explicit AppSecurityKey(const ktlog_callbacks* cb) : cb_(cb) {}
  bool present() const {
    return cb_->key_make_credential != nullptr &&
           cb_->key_get_assertion != nullptr;
  }
  absl::StatusOr<SecurityKey> MakeCredential(
      const std::string& rp_id, const std::string& account_id,
      KeyAlgorithm algorithm,
      const std::vector<std::string>& exclude) override {
    RETURN_IF_ERROR(Present());
    IdList ids(exclude);
    ktlog_bytes id, public_key, error;
    RETURN_IF_ERROR(FromApp(
        cb_->key_make_credential(cb_->ctx, rp_id.c_str(), account_id.c_str(),
                                 algorithm == KeyAlgorithm::kEs256 ? -7 : -8,
                                 ids.data(), ids.lens(), ids.size(), &id,
                                 &public_key, &error),
        error, "key_make_credential"));
    if (id.data.empty() || id.data.size() > kMaxCredentialIdSize) {
      return absl::InternalError(absl::StrCat(
          "the app's key_make_credential gave a credential id of ",
          id.data.size(), " bytes, not 1 to ", kMaxCredentialIdSize));
    }
    SecurityKey key;
    key.credential_id = std::move(id.data);
    key.algorithm = algorithm;
    ASSIGN_OR_RETURN(
        key.public_key,
        Sized(public_key, algorithm == KeyAlgorithm::kEs256 ? 65 : 32,
              "key_make_credential's public key"));
    return key;
  }
  absl::StatusOr<KeyAssertion> GetAssertion(
      const std::string& rp_id, const std::vector<std::string>& credential_ids,
      const Hash& client_data_hash, bool user_verification) override {
    RETURN_IF_ERROR(Present());
    IdList ids(credential_ids);
    ktlog_bytes id, data, signature, error;
    RETURN_IF_ERROR(FromApp(
        cb_->key_get_assertion(cb_->ctx, rp_id.c_str(), ids.data(), ids.lens(),
                               ids.size(), Data(client_data_hash.bytes()),
                               user_verification ? 1 : 0, &id, &data,
                               &signature, &error),
        error, "key_get_assertion"));
    KeyAssertion a;
    a.credential_id = std::move(id.data);
    if (data.data.size() != 37) {
      return absl::FailedPreconditionError(
          absl::StrCat("the app's key_get_assertion gave ", data.data.size(),
                       " bytes of authenticator data, not 37 (no extensions)"));
    }
    a.authenticator_data = std::move(data.data);
    a.signature = std::move(signature.data);
    return a;
  }
  absl::StatusOr<KeySecret> HmacSecret(const std::string&,
                                       const std::vector<std::string>&,
                                       absl::string_view) override {
    return absl::UnimplementedError(
        "the C API's security-key callbacks have no hmac-secret: its "
        "backups are opened by a recovery key or a passphrase");
  }

 private:
  // A list of byte strings as C pointers and lengths.
  class IdList {
   public:
    explicit IdList(const std::vector<std::string>& ids) {
      for (const std::string& id : ids) {
        data_.push_back(Data(id));
        lens_.push_back(id.size());
      }
    }
    const uint8_t* const* data() const { return data_.data(); }
    const size_t* lens() const { return lens_.data(); }
    size_t size() const { return data_.size(); }

   private:
    std::vector<const uint8_t*> data_;
    std::vector<size_t> lens_;
  };
  absl::Status Present() const {
    if (present()) return absl::OkStatus();
    return absl::UnimplementedError(
        "this app supplies no security key (key_make_credential and "
        "key_get_assertion are NULL)");
  }

  const ktlog_callbacks* cb_;
};

// A backup's sealed bytes between its record and its upload, in memory.
class MemoryPending : public PendingBackup {
 public:
  absl::Status Keep(const std::string& sealed) override {
    bytes_ = sealed;
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> Load() override {
    if (bytes_.empty()) return absl::NotFoundError("no pending backup");
    return bytes_;
  }
  void Drop() override { bytes_.clear(); }

 private:
  std::string bytes_;
};

// A store that keeps nothing: a restored state is checked before it is
// saved.
class NoStore : public StateStore {
 public:
  absl::StatusOr<ClientState> Load() override {
    return absl::NotFoundError("nothing saved");
  }
  absl::Status Save(const ClientState&) override { return absl::OkStatus(); }
};

TransportLog::UnaryCall AppCall(const ktlog_callbacks* cb) {
  return [cb](const std::string& method,
              const std::string& request) -> absl::StatusOr<std::string> {
    ktlog_bytes response, error;
    RETURN_IF_ERROR(FromApp(cb->call(cb->ctx, method.c_str(), Data(request),
                                     request.size(), &response, &error),
                            error, "call"));
    return std::move(response.data);
  };
}

int Finish(ktlog_result* result, const absl::Status& status, size_t alerts) {
  if (result != nullptr) {
    result->code = static_cast<int>(status.code());
    result->refusal = static_cast<int>(RefusalOf(status));
    result->alerts = static_cast<int>(alerts);
    std::string message(status.message());
    size_t n = std::min(message.size(), sizeof(result->message) - 1);
    memcpy(result->message, message.data(), n);
    result->message[n] = '\0';
  }
  return static_cast<int>(status.code());
}

bool Complete(const ktlog_callbacks* cb) {
  return cb != nullptr && cb->call != nullptr && cb->load_state != nullptr &&
         cb->save_state != nullptr && cb->account_public_key != nullptr &&
         cb->account_sign != nullptr && cb->prepare_next_key != nullptr &&
         cb->next_public_key != nullptr && cb->promote_next_key != nullptr &&
         // a security key is both calls or neither
         (cb->key_make_credential == nullptr) ==
             (cb->key_get_assertion == nullptr);
}

// The saved state, or a new one; FAILED_PRECONDITION if the saved one is
// for another log or account.
absl::StatusOr<ClientState> OpenState(StateStore& store,
                                      const std::string& log_key,
                                      const std::string& account_id,
                                      const std::string& device_id,
                                      bool allow_no_witnesses) {
  absl::StatusOr<ClientState> loaded = store.Load();
  if (absl::IsNotFound(loaded.status())) {
    ASSIGN_OR_RETURN(
        ClientState fresh,
        NewClientState(log_key, account_id, device_id, allow_no_witnesses));
    RETURN_IF_ERROR(store.Save(fresh));
    return fresh;
  }
  if (!loaded.ok()) return loaded.status();
  // What a new state would pin: the saved one must pin the same log key,
  // ids and witness policy (never a weaker one than the app now asks for).
  ASSIGN_OR_RETURN(
      ClientState wanted,
      NewClientState(log_key, account_id, device_id, allow_no_witnesses));
  if (wanted.log_key != loaded->log_key ||
      wanted.account_id != loaded->account_id ||
      wanted.device_id != loaded->device_id ||
      wanted.policy.witnesses != loaded->policy.witnesses ||
      wanted.policy.witness_quorum != loaded->policy.witness_quorum) {
    return absl::FailedPreconditionError(
        "the saved client state is for another log key, witness policy, "
        "account or device");
  }
  return loaded;
}

}  // namespace
}  // namespace ktlog

struct ktlog_client {
  explicit ktlog_client(const ktlog_callbacks& callbacks)
      : cb(callbacks),
        store(&cb),
        keys(&cb),
        security_key(&cb),
        log(ktlog::AppCall(&cb)) {}

  // Runs `f`, saves the state whatever happened (alerts are kept), and
  // fills `result` with the outcome and the alerts `f` raised.
  template <class F>
  int Run(ktlog_result* result, F f) {
    size_t before = verifier->raised().size();
    absl::Status status;
    try {  // nothing may cross the C boundary as an exception
      status = f();
    } catch (const std::exception& e) {
      status = absl::InternalError(e.what());
    } catch (...) {
      status = absl::InternalError("unexpected exception");
    }
    absl::Status saved = store.Save(state);
    if (status.ok()) status = saved;
    return ktlog::Finish(result, status, verifier->raised().size() - before);
  }

  ktlog_callbacks cb;
  ktlog::AppStates store;
  ktlog::AppKeys keys;
  ktlog::AppSecurityKey security_key;
  ktlog::TransportLog log;
  ktlog::MemoryPending pending_backup;
  ktlog::ClientState state;
  std::unique_ptr<ktlog::ClientVerifier> verifier;
  std::unique_ptr<ktlog::OwnAccount> own;
  // Makes the verifier and the owner's account over `state` (saving
  // through `to`).
  void Start(ktlog::StateStore* to) {
    verifier = std::make_unique<ktlog::ClientVerifier>(&state, &log,
                                                       ktlog::RealClock::Get());
    own = std::make_unique<ktlog::OwnAccount>(
        &state, to, &keys, &log, verifier.get(), ktlog::RealClock::Get());
    if (security_key.present()) own->UseSecurityKey(&security_key);
  }
  ktlog::BackupSteps BackupSteps() {
    ktlog::BackupSteps steps;
    steps.state = &state;
    steps.store = &store;
    steps.provider = &log;
    steps.pending = &pending_backup;
    steps.record = [this](const ktlog::BackupRef& ref) {
      return own->RecordBackup(ref);
    };
    return steps;
  }

  // Keys enrolled for ktlog_set_security_keys, and their user
  // verification setting.
  std::vector<ktlog::SecurityKey> enrolled;
  bool enrolled_uv = false;
};

namespace {

using ktlog::Finish;

int Invalid(ktlog_result* result, const char* what) {
  return Finish(
      result, absl::InvalidArgumentError(absl::StrCat(what, " is missing")), 0);
}

void Report(const ktlog::OwnAccount::Written& w, uint64_t* leaf_index,
            int* verified) {
  if (leaf_index != nullptr) *leaf_index = w.appended.leaf_index;
  if (verified != nullptr) *verified = w.verified ? 1 : 0;
}

}  // namespace

extern "C" {

ktlog_bytes* ktlog_bytes_new(void) { return new ktlog_bytes(); }
void ktlog_bytes_free(ktlog_bytes* bytes) { delete bytes; }
void ktlog_bytes_set(ktlog_bytes* bytes, const uint8_t* data, size_t len) {
  if (bytes == nullptr) return;
  bytes->data.assign(reinterpret_cast<const char*>(data), data ? len : 0);
}
const uint8_t* ktlog_bytes_data(const ktlog_bytes* bytes) {
  return bytes == nullptr ? nullptr : ktlog::Data(bytes->data);
}
size_t ktlog_bytes_len(const ktlog_bytes* bytes) {
  return bytes == nullptr ? 0 : bytes->data.size();
}

const char* ktlog_refusal_name(int refusal) {
  // The names are string literals: their data is NUL-terminated.
  return refusal >= 0 && refusal < ktlog::kRefusalCount
             ? ktlog::RefusalName(static_cast<ktlog::Refusal>(refusal)).data()
             : "UNKNOWN";
}

ktlog_client* ktlog_client_open(const ktlog_callbacks* callbacks,
                                const char* log_key, const char* account_id,
                                const char* device_id, int allow_no_witnesses,
                                ktlog_result* result) {
  if (!ktlog::Complete(callbacks) || log_key == nullptr ||
      account_id == nullptr || device_id == nullptr) {
    Invalid(result, "a callback, the log key, the account or the device");
    return nullptr;
  }
  auto client = std::make_unique<ktlog_client>(*callbacks);
  absl::StatusOr<ktlog::ClientState> state = absl::InternalError("");
  try {  // nothing may cross the C boundary as an exception
    state = ktlog::OpenState(client->store, log_key, account_id, device_id,
                             allow_no_witnesses != 0);
  } catch (const std::exception& e) {
    state = absl::InternalError(e.what());
  }
  if (!state.ok()) {
    Finish(result, state.status(), 0);
    return nullptr;
  }
  client->state = *std::move(state);
  client->Start(&client->store);
  Finish(result, absl::OkStatus(), 0);
  return client.release();
}

void ktlog_client_close(ktlog_client* client) { delete client; }

int ktlog_add_device(ktlog_client* client, const char* device_id,
                     const uint8_t device_key[32], const char* credential,
                     uint64_t* leaf_index, int* verified,
                     ktlog_result* result) {
  if (client == nullptr || device_id == nullptr || device_key == nullptr) {
    return Invalid(result, "the client, the device id or its key");
  }
  std::string key(reinterpret_cast<const char*>(device_key), 32);
  return client->Run(result, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(
        ktlog::OwnAccount::Written w,
        client->own->AddDevice(device_id, key, credential ? credential : ""));
    Report(w, leaf_index, verified);
    return absl::OkStatus();
  });
}

int ktlog_remove_device(ktlog_client* client, const char* device_id,
                        uint64_t* leaf_index, int* verified,
                        ktlog_result* result) {
  if (client == nullptr || device_id == nullptr) {
    return Invalid(result, "the client or the device id");
  }
  return client->Run(result, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(ktlog::OwnAccount::Written w,
                     client->own->RemoveDevice(device_id));
    Report(w, leaf_index, verified);
    return absl::OkStatus();
  });
}

int ktlog_rotate_account_key(ktlog_client* client, uint64_t* leaf_index,
                             int* verified, ktlog_result* result) {
  if (client == nullptr) return Invalid(result, "the client");
  return client->Run(result, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(ktlog::OwnAccount::Written w,
                     client->own->RotateAccountKey());
    Report(w, leaf_index, verified);
    return absl::OkStatus();
  });
}

int ktlog_prepare_reset(ktlog_client* client, ktlog_bytes* public_key,
                        ktlog_result* result) {
  if (client == nullptr || public_key == nullptr) {
    return Invalid(result, "the client or the key's buffer");
  }
  return client->Run(result, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(public_key->data, client->own->PrepareReset());
    return absl::OkStatus();
  });
}

int ktlog_reset_account(ktlog_client* client, const char* credential,
                        uint64_t* leaf_index, int* verified,
                        ktlog_result* result) {
  if (client == nullptr || credential == nullptr) {
    return Invalid(result, "the client or the credential");
  }
  return client->Run(result, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(ktlog::OwnAccount::Written w,
                     client->own->ResetAccount(credential));
    Report(w, leaf_index, verified);
    return absl::OkStatus();
  });
}

int ktlog_enroll_security_key(ktlog_client* client, int eddsa, int require_uv,
                              ktlog_bytes* credential_id,
                              ktlog_result* result) {
  if (client == nullptr) return Invalid(result, "the client");
  return client->Run(result, [&]() -> absl::Status {
    if (!client->enrolled.empty() && client->enrolled_uv != (require_uv != 0)) {
      return absl::InvalidArgumentError(
          "the keys enrolled so far were checked with another user "
          "verification setting");
    }
    RETURN_IF_ERROR(client->own->Check().status());
    const std::string& authority = client->state.own_state.account_key;
    if (ktlog::IsSecurityKeyAuthority(authority) &&
        ktlog::DecodeSecurityKeySet(authority)->require_user_verification !=
            (require_uv != 0)) {
      return absl::InvalidArgumentError(
          "require_uv must be the account's setting: its keys are checked "
          "as the account will ask them to sign");
    }
    std::vector<std::string> exclude;
    for (const ktlog::SecurityKey& k : client->enrolled) {
      exclude.push_back(k.credential_id);
    }
    ASSIGN_OR_RETURN(
        ktlog::SecurityKey key,
        client->own->EnrollSecurityKey(
            &client->security_key,
            eddsa ? ktlog::KeyAlgorithm::kEdDsa : ktlog::KeyAlgorithm::kEs256,
            require_uv != 0, exclude));
    if (credential_id != nullptr) credential_id->data = key.credential_id;
    client->enrolled.push_back(std::move(key));
    client->enrolled_uv = require_uv != 0;
    return absl::OkStatus();
  });
}

int ktlog_set_security_keys(ktlog_client* client, uint64_t* leaf_index,
                            int* verified, ktlog_result* result) {
  if (client == nullptr) return Invalid(result, "the client");
  return client->Run(result, [&]() -> absl::Status {
    if (client->enrolled.empty()) {
      return absl::FailedPreconditionError(
          "no security key is enrolled (ktlog_enroll_security_key)");
    }
    RETURN_IF_ERROR(client->own->Check().status());
    std::vector<ktlog::SecurityKey> keys = client->own->SecurityKeys();
    bool uv = client->enrolled_uv;
    if (!keys.empty()) {
      uv = ktlog::DecodeSecurityKeySet(client->state.own_state.account_key)
               ->require_user_verification;
    }
    keys.insert(keys.end(), client->enrolled.begin(), client->enrolled.end());
    ASSIGN_OR_RETURN(ktlog::OwnAccount::Written w,
                     client->own->SetSecurityKeys(keys, uv));
    client->enrolled.clear();
    Report(w, leaf_index, verified);
    return absl::OkStatus();
  });
}

int ktlog_remove_security_key(ktlog_client* client,
                              const uint8_t* credential_id, size_t len,
                              uint64_t* leaf_index, int* verified,
                              ktlog_result* result) {
  if (client == nullptr || credential_id == nullptr) {
    return Invalid(result, "the client or the credential id");
  }
  std::string id(reinterpret_cast<const char*>(credential_id), len);
  return client->Run(result, [&]() -> absl::Status {
    RETURN_IF_ERROR(client->own->Check().status());
    std::vector<ktlog::SecurityKey> kept;
    for (const ktlog::SecurityKey& k : client->own->SecurityKeys()) {
      if (k.credential_id != id) kept.push_back(k);
    }
    if (kept.size() + 1 != client->own->SecurityKeys().size()) {
      return absl::NotFoundError(
          "no security key of the account has this credential id");
    }
    bool uv = ktlog::DecodeSecurityKeySet(client->state.own_state.account_key)
                  ->require_user_verification;
    ASSIGN_OR_RETURN(ktlog::OwnAccount::Written w,
                     client->own->SetSecurityKeys(kept, uv));
    Report(w, leaf_index, verified);
    return absl::OkStatus();
  });
}

int ktlog_backup_secrets(ktlog_client* client, int recovery_key,
                         const char* passphrase, uint64_t passphrase_memory,
                         ktlog_bytes* recovery_key_text, ktlog_result* result) {
  if (client == nullptr || (recovery_key && recovery_key_text == nullptr)) {
    return Invalid(result, "the client or the recovery key's buffer");
  }
  return client->Run(result, [&]() -> absl::Status {
    ktlog::BackupSecrets secrets;
    secrets.recovery_key = recovery_key != 0;
    if (passphrase != nullptr) secrets.passphrase = passphrase;
    if (passphrase_memory != 0) secrets.memory = passphrase_memory;
    absl::StatusOr<std::string> text =
        ktlog::SetBackupSecrets(&client->state, secrets);
    ktlog::WipeSecret(&secrets.passphrase);
    if (!text.ok()) return text.status();
    if (recovery_key_text != nullptr) recovery_key_text->data = *text;
    ktlog::WipeSecret(&*text);
    return absl::OkStatus();
  });
}

int ktlog_backup_create(ktlog_client* client, uint64_t* backup_version,
                        uint64_t* leaf_index, int* verified,
                        ktlog_result* result) {
  if (client == nullptr) return Invalid(result, "the client");
  return client->Run(result, [&]() -> absl::Status {
    ktlog::BackupSteps steps = client->BackupSteps();
    RETURN_IF_ERROR(ktlog::FinishBackupUpload(steps).status());
    ASSIGN_OR_RETURN(ktlog::MadeBackup made, ktlog::MakeBackup(steps, {}));
    if (backup_version != nullptr) *backup_version = made.ref.version;
    Report(made.written, leaf_index, verified);
    return absl::OkStatus();
  });
}

int ktlog_backup_delete(ktlog_client* client, uint64_t* leaf_index,
                        int* verified, ktlog_result* result) {
  if (client == nullptr) return Invalid(result, "the client");
  return client->Run(result, [&]() -> absl::Status {
    ktlog::BackupSteps steps = client->BackupSteps();
    RETURN_IF_ERROR(ktlog::FinishBackupUpload(steps).status());
    ASSIGN_OR_RETURN(ktlog::OwnAccount::Written w, ktlog::DeleteBackup(steps));
    Report(w, leaf_index, verified);
    return absl::OkStatus();
  });
}

ktlog_client* ktlog_client_restore(const ktlog_callbacks* callbacks,
                                   const char* log_key, const char* account_id,
                                   const char* device_id,
                                   int secret_is_recovery_key,
                                   const char* secret, const char* credential,
                                   uint64_t max_checkpoint_age_ms,
                                   ktlog_result* result) {
  if (!ktlog::Complete(callbacks) || log_key == nullptr ||
      account_id == nullptr || device_id == nullptr || secret == nullptr) {
    Invalid(result,
            "a callback, the log key, the account, the device or the secret");
    return nullptr;
  }
  auto client = std::make_unique<ktlog_client>(*callbacks);
  ktlog::NoStore unsaved;
  size_t alerts = 0;
  absl::Status status;
  try {  // nothing may cross the C boundary as an exception
    status = [&]() -> absl::Status {
      absl::StatusOr<ktlog::ClientState> saved = client->store.Load();
      if (saved.ok()) {
        return absl::FailedPreconditionError(
            "the app's state store holds a client state already: restore "
            "into an empty one");
      }
      if (!absl::IsNotFound(saved.status())) return saved.status();
      // The ids and log key as ktlog_client_open would take them.
      RETURN_IF_ERROR(ktlog::NewClientState(log_key, account_id, device_id,
                                            /*allow_no_witnesses=*/true)
                          .status());
      ASSIGN_OR_RETURN(
          ktlog::FetchedBackup fetched,
          client->log.GetBackup(account_id, credential ? credential : ""));
      ktlog::BackupSecret opener;
      opener.type = secret_is_recovery_key ? ktlog::WrapType::kRecoveryKey
                                           : ktlog::WrapType::kPassphrase;
      opener.text = secret;
      absl::StatusOr<ktlog::BackupContents> contents =
          ktlog::OpenTrustBackup(fetched.sealed, account_id, log_key, opener);
      ktlog::WipeSecret(&opener.text);
      if (!contents.ok()) return contents.status();
      for (auto& [name, bytes] : contents->files) ktlog::WipeSecret(&bytes);
      client->state = std::move(contents->state);
      client->state.device_id = device_id;
      client->Start(&unsaved);  // nothing is saved until it is checked
      ASSIGN_OR_RETURN(std::vector<ktlog::Alert> raised,
                       ktlog::CheckRestoredState(
                           &client->state, client->own.get(),
                           client->verifier.get(), *ktlog::RealClock::Get(),
                           max_checkpoint_age_ms == 0
                               ? absl::Minutes(15)
                               : absl::Milliseconds(max_checkpoint_age_ms),
                           "max_checkpoint_age_ms", fetched.record_version));
      alerts = raised.size();
      RETURN_IF_ERROR(client->store.Save(client->state));
      client->Start(&client->store);
      return absl::OkStatus();
    }();
  } catch (const std::exception& e) {
    status = absl::InternalError(e.what());
  }
  Finish(result, status, alerts);
  return status.ok() ? client.release() : nullptr;
}

int ktlog_monitor(ktlog_client* client, ktlog_result* result) {
  if (client == nullptr) return Invalid(result, "the client");
  return client->Run(result, [&] { return client->own->Monitor(); });
}

int ktlog_unverified(const ktlog_client* client) {
  return client == nullptr
             ? 0
             : static_cast<int>(ktlog::UnverifiedOwn(client->state));
}

int ktlog_lookup(ktlog_client* client, const char* account, ktlog_bytes* json,
                 ktlog_result* result) {
  if (client == nullptr || account == nullptr || json == nullptr) {
    return Invalid(result, "the client, the account or the output");
  }
  return client->Run(result, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(ktlog::LogCheckpoint cp,
                     client->verifier->UpdateCheckpoint());
    ASSIGN_OR_RETURN(ktlog::VerifiedAccount a,
                     client->verifier->LookupExisting(cp, account));
    nlohmann::json devices = nlohmann::json::array();
    for (const ktlog::VerifiedDevice& d : a.devices) {
      devices.push_back({{"device_id", d.record.device_id},
                         {"key", ktlog::HexEncode(d.record.key)},
                         {"leaf_index", d.leaf_index}});
    }
    nlohmann::json resets = nlohmann::json::array();
    for (const ktlog::VerifiedReset& r : a.resets) {
      resets.push_back({{"version", r.version}, {"leaf_index", r.leaf_index}});
    }
    json->data = ktlog::JsonText(
        {{"account_id", a.state->account_id},
         {"account_key", ktlog::HexEncode(a.state->account_key)},
         {"version", a.state->version},
         {"devices", devices},
         {"resets", resets}});
    return absl::OkStatus();
  });
}

int ktlog_safety_code(ktlog_client* client, const char* contact,
                      ktlog_bytes* digits, ktlog_bytes* scannable,
                      ktlog_result* result) {
  if (client == nullptr || contact == nullptr) {
    return Invalid(result, "the client or the contact");
  }
  return client->Run(result, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(ktlog::ContactCode code,
                     ktlog::CodeWithContact(*client->verifier, *client->own,
                                            client->state.account_id, contact));
    if (digits != nullptr) digits->data = code.code.Digits();
    if (scannable != nullptr) scannable->data = code.code.ScannableText();
    return absl::OkStatus();
  });
}

int ktlog_compare_code(ktlog_client* client, const char* contact,
                       const char* shown, int* match, ktlog_result* result) {
  if (client == nullptr || contact == nullptr || shown == nullptr ||
      match == nullptr) {
    return Invalid(result, "the client, the contact, the code or the output");
  }
  return client->Run(result, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(ktlog::ContactCode code,
                     ktlog::CodeWithContact(*client->verifier, *client->own,
                                            client->state.account_id, contact));
    ASSIGN_OR_RETURN(bool same, ktlog::CompareWithContact(
                                    *client->verifier, code, contact, shown));
    *match = same ? 1 : 0;
    return absl::OkStatus();
  });
}

int ktlog_alerts(ktlog_client* client, ktlog_bytes* json,
                 ktlog_result* result) {
  if (client == nullptr || json == nullptr) {
    return Invalid(result, "the client or the output");
  }
  return client->Run(result, [&]() -> absl::Status {
    nlohmann::json all = nlohmann::json::array();
    for (const ktlog::Alert& a : client->state.alerts)
      all.push_back(a.ToJson());
    json->data = ktlog::JsonText(all);
    return absl::OkStatus();
  });
}

}  // extern "C"
