// AccountReplay: the one replay of device records. It applies records in log
// order to account states with the account rules (core/account/account.h)
// and yields what they changed: each changed account's final state and the
// matching account index changes (core/account/index.h). The log's
// integrator (new writes), the auditor (catching up) and fsck (recomputing a
// data dir) all replay through it, so all three derive the same states and
// the same index.
//
// Thread-compatible.
#ifndef KTLOG_CORE_ACCOUNT_REPLAY_H_
#define KTLOG_CORE_ACCOUNT_REPLAY_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/account/account.h"
#include "core/account/record.h"
#include "core/crypto/hash.h"

namespace ktlog {

// Where a replay reads the state of an account before the records it
// replays (storage, a cache). Implemented by the caller.
class AccountSource {
 public:
  virtual ~AccountSource() = default;
  // The account's state, or nullopt if it does not exist. Errors describe
  // the source (UNAVAILABLE, DATA_LOSS, ...), never the account rules.
  virtual absl::StatusOr<std::optional<AccountState>> LoadAccount(
      const std::string& account_id) = 0;
};

class AccountReplay {
 public:
  // Borrows `source`.
  explicit AccountReplay(AccountSource* source) : source_(source) {}

  // Makes `account_id` ready to Apply a record to: reads it from the source
  // the first time. The source's errors pass through.
  absl::Status Load(const std::string& account_id);

  // Applies `record` (decoded, signature verified), stored at `leaf_index`.
  // Requires Load(record.account_id) to have succeeded. Errors are the
  // account rules' (ApplyRecord); on error nothing changes.
  absl::Status Apply(const DeviceRecord& record, uint64_t leaf_index);

  // The current state of a loaded account.
  const AccountState& State(const std::string& account_id) const;

  // The accounts changed since construction or the last Clear(), each in
  // its latest state.
  std::vector<AccountState> Changed() const;
  // The account index changes they make: AccountIndexKey(id) ->
  // AccountValueHash(state) for each changed account.
  std::vector<std::pair<Hash, Hash>> IndexChanges() const;

  // Forgets what changed (once it is committed); loaded states are kept.
  void ClearChanges() { changed_.clear(); }
  // Forgets everything, so the next Load reads the source again.
  void Reset();
  size_t loaded() const { return accounts_.size(); }

 private:
  AccountSource* const source_;
  std::map<std::string, AccountState> accounts_;  // loaded, by id
  std::set<std::string> changed_;
};

}  // namespace ktlog

#endif  // KTLOG_CORE_ACCOUNT_REPLAY_H_
