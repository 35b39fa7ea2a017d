#include "verifier/contact_code.h"

#include "absl/strings/str_cat.h"
#include "core/util/status_macros.h"

namespace ktlog {

absl::StatusOr<ContactCode> CodeWithContact(ClientVerifier& verifier,
                                            OwnAccount& own,
                                            const std::string& own_id,
                                            const std::string& contact) {
  ASSIGN_OR_RETURN(LogCheckpoint cp, verifier.UpdateCheckpoint());
  ASSIGN_OR_RETURN(VerifiedAccount a, verifier.Lookup(cp, contact));
  if (!a.state.has_value()) {
    return absl::NotFoundError(absl::StrCat(
        "account \"", contact,
        "\" does not exist (absence verified at tree size ", cp.size, ")"));
  }
  ASSIGN_OR_RETURN(std::string own_key, own.AccountKey());
  const std::string& theirs = a.state->account_key;
  return ContactCode{cp, theirs,
                     SafetyCode::Compute(own_key, own_id, theirs, contact)};
}

absl::StatusOr<bool> CompareWithContact(ClientVerifier& verifier,
                                        const ContactCode& code,
                                        const std::string& contact,
                                        absl::string_view shown) {
  ASSIGN_OR_RETURN(bool match, code.code.Matches(shown));
  if (!match) return false;
  RETURN_IF_ERROR(
      verifier.VerifyContact(code.checkpoint, contact, code.their_key)
          .status());
  return true;
}

}  // namespace ktlog
