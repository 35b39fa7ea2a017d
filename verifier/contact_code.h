// Safety codes with a contact, as the client library computes and compares
// them (docs/codes.md, docs/verifier.md "Contacts"): over the account key
// this client holds and the contact's key verified in the log now. A match
// makes the contact verified (ClientVerifier::VerifyContact).
#ifndef KTLOG_VERIFIER_CONTACT_CODE_H_
#define KTLOG_VERIFIER_CONTACT_CODE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/note/checkpoint.h"
#include "verifier/client_verifier.h"
#include "verifier/codes.h"
#include "verifier/own_account.h"

namespace ktlog {

struct ContactCode {
  LogCheckpoint checkpoint;  // where the contact's key was verified
  std::string their_key;     // the contact's account key there
  SafetyCode code;
};

// Trusts the latest checkpoint, verifies `contact`'s current key there
// (NOT_FOUND if the account is proved absent; the verifier's refusals) and
// computes the code between the owner's key (OwnAccount::AccountKey: the
// key this client holds, not the one the log shows for the owner) and it.
absl::StatusOr<ContactCode> CodeWithContact(ClientVerifier& verifier,
                                            OwnAccount& own,
                                            const std::string& own_id,
                                            const std::string& contact);

// Compares `shown` (the 60 digits or the scanned text) with `code`; on a
// match, `contact` becomes a verified contact over code.their_key. Whether
// it matched; SafetyCode::Matches's errors and VerifyContact's.
absl::StatusOr<bool> CompareWithContact(ClientVerifier& verifier,
                                        const ContactCode& code,
                                        const std::string& contact,
                                        absl::string_view shown);

}  // namespace ktlog

#endif  // KTLOG_VERIFIER_CONTACT_CODE_H_
