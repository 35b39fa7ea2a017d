#include "core/note/note.h"

#include "absl/strings/escaping.h"
#include "core/note/checkpoint.h"
#include "core/note/cosignature.h"
#include "core/testonly/test_vectors.h"
#include "core/util/bytes.h"
#include "gtest/gtest.h"

namespace ktlog {
namespace {

// C2SP verification of `note` against a set of known keys: every signature
// by a known key must verify and at least one must exist.
bool VerifiesWithKnownKeys(const Note& note,
                           const std::vector<NoteVerifierKey>& keys) {
  bool any = false;
  for (const NoteVerifierKey& k : keys) {
    bool has = false;
    for (const NoteSignature& s : note.signatures) {
      has = has || (s.name == k.name && s.key_id == k.key_id);
    }
    if (!has) continue;
    if (!VerifyNoteSignature(note, k).ok()) return false;
    any = true;
  }
  return any;
}

std::vector<NoteVerifierKey> Keys(const nlohmann::json& list) {
  std::vector<NoteVerifierKey> keys;
  for (const auto& k : list) {
    auto key = NoteVerifierKey::Parse(k.get<std::string>());
    EXPECT_TRUE(key.ok()) << key.status();
    if (key.ok()) {
      EXPECT_EQ(key->ToString(), k.get<std::string>());
      keys.push_back(*key);
    }
  }
  return keys;
}

TEST(NoteVectors, SignedNotes) {
  nlohmann::json v = LoadJsonTestData("vectors/signed_notes_checkpoints.json");
  for (const auto& c : v["notes"]) {
    SCOPED_TRACE(c["desc"].get<std::string>());
    absl::StatusOr<Note> note = ParseNote(c["note"].get<std::string>());
    bool ok =
        note.ok() && VerifiesWithKnownKeys(*note, Keys(c["verifier_keys"]));
    EXPECT_EQ(ok, c["valid"].get<bool>());
    if (note.ok()) {
      EXPECT_EQ(note->ToString(), c["note"].get<std::string>());
      if (c.contains("text")) {
        EXPECT_EQ(note->text, c["text"]);
      }
    }
  }
}

TEST(NoteVectors, SignedCheckpoints) {
  nlohmann::json v = LoadJsonTestData("vectors/signed_notes_checkpoints.json");
  for (const auto& c : v["checkpoints"]) {
    SCOPED_TRACE(c["desc"].get<std::string>());
    absl::StatusOr<Note> note = ParseNote(c["note"].get<std::string>());
    bool ok =
        note.ok() && VerifiesWithKnownKeys(*note, Keys(c["verifier_keys"]));
    absl::StatusOr<Checkpoint> body =
        note.ok() ? ParseCheckpointBody(note->text)
                  : absl::StatusOr<Checkpoint>(note.status());
    ok = ok && body.ok();
    EXPECT_EQ(ok, c["valid"].get<bool>());
    if (ok) {
      EXPECT_EQ(body->origin, c["origin"]);
      EXPECT_EQ(body->size, c["size"].get<uint64_t>());
      EXPECT_EQ(body->root.ToHex(), c["root"]);
    }
  }
}

TEST(NoteVectors, CheckpointBodies) {
  nlohmann::json v = LoadJsonTestData("vectors/signed_notes_checkpoints.json");
  for (const auto& c : v["checkpoint_bodies"]) {
    SCOPED_TRACE(c["desc"].get<std::string>());
    absl::StatusOr<Checkpoint> body =
        ParseCheckpointBody(c["text"].get<std::string>());
    EXPECT_EQ(body.ok(), c["valid"].get<bool>()) << body.status();
    if (!body.ok()) continue;
    if (c.contains("origin")) {
      EXPECT_EQ(body->origin, c["origin"]);
    }
    if (c.contains("size")) {
      EXPECT_EQ(body->size, c["size"].get<uint64_t>());
    }
    if (c.contains("root")) {
      EXPECT_EQ(body->root.ToHex(), c["root"]);
    }
    EXPECT_EQ(body->ToBody(), c["text"]) << "formatting must round-trip";
  }
}

TEST(NoteVectors, SignerKeys) {
  nlohmann::json v = LoadJsonTestData("vectors/signed_notes_checkpoints.json");
  for (const auto& c : v["signer_keys"]) {
    SCOPED_TRACE(c["desc"].get<std::string>());
    auto signer = NoteSigner::Parse(c["signer_key"].get<std::string>());
    ASSERT_TRUE(signer.ok()) << signer.status();
    EXPECT_EQ(signer->ToString(), c["signer_key"]);
    EXPECT_EQ(signer->verifier_key().ToString(), c["verifier_key"]);
    Note note{"hello\n", {SignNote("hello\n", *signer)}};
    auto reparsed = ParseNote(note.ToString());
    ASSERT_TRUE(reparsed.ok());
    auto vkey = NoteVerifierKey::Parse(c["verifier_key"].get<std::string>());
    ASSERT_TRUE(vkey.ok());
    EXPECT_TRUE(VerifyNoteSignature(*reparsed, *vkey).ok());
  }
}

// The golang.org/x/mod ExampleSign signature is deterministic (Ed25519):
// signing the same text with the same key reproduces the published note.
TEST(NoteVectors, ReproducesPublishedSignature) {
  auto signer = NoteSigner::Parse(
      "PRIVATE+KEY+PeterNeumann+c74f20a3+"
      "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz");
  ASSERT_TRUE(signer.ok());
  std::string text =
      "If you think cryptography is the answer to your problem,\n"
      "then you don't know what your problem is.\n";
  Note note{text, {SignNote(text, *signer)}};
  EXPECT_EQ(note.ToString(), text +
                                 "\n\xe2\x80\x94 PeterNeumann "
                                 "x08go/ZJkuBS9UG/"
                                 "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZS"
                                 "NXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n");
}

TEST(NoteParse, RejectsMalformed) {
  const char* bad[] = {
      "",
      "text\n",                                    // no signatures
      "text\n\n",                                  // no signature lines
      "text\n\n\xe2\x80\x94 name\n",               // no signature
      "text\n\n- name AAAAAAA=\n",                 // ASCII dash
      "text\n\n\xe2\x80\x94 name AAAA\n",          // too short
      "text\n\n\xe2\x80\x94 na+me AAAAAAA=\n",     // '+' in name
      "te\x01xt\n\n\xe2\x80\x94 name AAAAAAA=\n",  // control char
      "text\n\n\xe2\x80\x94 name AAAAAAA=",        // no final newline
      "\xff\n\n\xe2\x80\x94 name AAAAAAA=\n",      // not UTF-8
  };
  for (const char* n : bad) {
    EXPECT_EQ(ParseNote(n).status().code(), absl::StatusCode::kInvalidArgument)
        << absl::CHexEscape(n);
  }
  EXPECT_TRUE(ParseNote("text\n\n\xe2\x80\x94 name AAAAAAA=\n").ok());
  std::string huge(kMaxNoteSize + 1, 'a');
  EXPECT_FALSE(ParseNote(huge).ok());
  std::string many = "t\n\n";
  for (size_t i = 0; i <= kMaxSignatures; ++i)
    many += "\xe2\x80\x94 n AAAAAAA=\n";
  EXPECT_FALSE(ParseNote(many).ok());
}

TEST(NoteKeys, RejectsBadKeys) {
  auto signer = NoteSigner::Generate("example.com/log");
  ASSERT_TRUE(signer.ok());
  std::string vkey = signer->verifier_key().ToString();
  EXPECT_TRUE(NoteVerifierKey::Parse(vkey).ok());
  std::string wrong_id = vkey;
  size_t plus = wrong_id.find('+');
  wrong_id[plus + 1] = wrong_id[plus + 1] == '0' ? '1' : '0';
  EXPECT_FALSE(NoteVerifierKey::Parse(wrong_id).ok());
  EXPECT_FALSE(NoteVerifierKey::Parse("name+00000000").ok());
  EXPECT_FALSE(NoteVerifierKey::Parse("").ok());
  EXPECT_FALSE(NoteSigner::Parse(vkey).ok()) << "a verifier key is no signer";
  EXPECT_FALSE(NoteSigner::Generate("has space").ok());
  EXPECT_FALSE(NoteSigner::Generate("").ok());
  auto cosigner =
      NoteSigner::Generate("witness.example", kNoteTypeCosignatureV1);
  ASSERT_TRUE(cosigner.ok());
  EXPECT_NE(cosigner->key_id(),
            NoteKeyId("witness.example", kNoteTypeEd25519,
                      cosigner->private_key().public_key().bytes()));
}

TEST(LogCheckpointTest, SignOpenAndReject) {
  auto signer = NoteSigner::Generate("example.com/ktlog");
  ASSERT_TRUE(signer.ok());
  LogCheckpoint cp{"example.com/ktlog", 42, Sha256("root"), Sha256("index"),
                   1764270000123};
  std::string note = SignLogCheckpoint(cp, *signer);
  auto opened = OpenLogCheckpoint(note, signer->verifier_key());
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, cp);

  auto other = NoteSigner::Generate("example.com/ktlog");
  EXPECT_EQ(OpenLogCheckpoint(note, other->verifier_key()).status().code(),
            absl::StatusCode::kUnauthenticated);

  std::string tampered = note;
  tampered.replace(tampered.find("\n42\n"), 4, "\n43\n");
  EXPECT_EQ(OpenLogCheckpoint(tampered, signer->verifier_key()).status().code(),
            absl::StatusCode::kUnauthenticated);

  auto elsewhere = NoteSigner::Generate("example.com/other");
  LogCheckpoint wrong_origin = cp;
  EXPECT_EQ(OpenLogCheckpoint(SignLogCheckpoint(wrong_origin, *elsewhere),
                              elsewhere->verifier_key())
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);

  EXPECT_FALSE(
      ParseLogCheckpointBody("o\n1\n" + Sha256("").ToBase64() + "\n").ok())
      << "missing timestamp line";
  EXPECT_FALSE(ParseLogCheckpointBody("o\n1\n" + Sha256("").ToBase64() +
                                      "\ntimestamp-ms 01\n")
                   .ok());
  EXPECT_FALSE(ParseLogCheckpointBody("o\n1\n" + Sha256("").ToBase64() +
                                      "\ntimestamp-ms 1\nextra\n")
                   .ok());
}

}  // namespace
}  // namespace ktlog

namespace ktlog {
namespace {

TEST(CosignatureTest, OurVectorAndRoundTrip) {
  nlohmann::json v = LoadJsonTestData("ktlog/cosignature.json")["cosigned"];
  auto witness =
      NoteVerifierKey::Parse(v["witness_verifier_key"].get<std::string>());
  ASSERT_TRUE(witness.ok()) << witness.status();
  EXPECT_EQ(witness->type, kNoteTypeCosignatureV1);
  auto log = NoteVerifierKey::Parse(v["log_verifier_key"].get<std::string>());
  auto note = ParseNote(v["note"].get<std::string>());
  ASSERT_TRUE(note.ok());
  EXPECT_TRUE(VerifyNoteSignature(*note, *log).ok()) << "the log's signature";
  auto time = VerifyCosignature(*note, *witness);
  ASSERT_TRUE(time.ok()) << time.status();
  EXPECT_EQ(*time, v["time"].get<uint64_t>());
  // Reproduce it (Ed25519 is deterministic).
  auto signer = NoteSigner::Parse(v["witness_signer_key"].get<std::string>());
  ASSERT_TRUE(signer.ok());
  Note again{note->text,
             {note->signatures[0], Cosign(note->text, *signer, *time)}};
  EXPECT_EQ(again.ToString(), v["note"]);
  // A changed body, time or signature fails; a note without it too.
  Note changed = *note;
  changed.text[0] = 'X';
  EXPECT_EQ(VerifyCosignature(changed, *witness).status().code(),
            absl::StatusCode::kUnauthenticated);
  Note retimed = *note;
  retimed.signatures[1].signature[7] ^= 1;
  EXPECT_EQ(VerifyCosignature(retimed, *witness).status().code(),
            absl::StatusCode::kUnauthenticated);
  Note bare = *note;
  bare.signatures.pop_back();
  EXPECT_EQ(VerifyCosignature(bare, *witness).status().code(),
            absl::StatusCode::kUnauthenticated);
  // The log's key is not a witness key.
  EXPECT_EQ(VerifyCosignature(*note, *log).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ktlog
