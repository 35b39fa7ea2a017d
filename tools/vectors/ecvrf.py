#!/usr/bin/env python3
"""
Independent pure-Python reference implementation of

    ECVRF-EDWARDS25519-SHA512-TAI   (RFC 9381, suite_string = 0x03)

written only from the text of RFC 8032 (edwards25519 arithmetic, encoding and
decoding) and RFC 9381 (the ECVRF itself).  No crypto library is used: the
curve arithmetic is plain Python integers, and hashlib supplies SHA-512 (and
SHA-256 only to derive our own deterministic test keys).

It exists to cross-check a separately written C++ implementation, so it favours
clarity over speed and is NOT constant time.  Do not use it to handle real
secret keys.

Usage:
    python3 ecvrf.py selftest   # checks RFC 9381 Examples 16-18 + negative cases, prints "ok"
    python3 ecvrf.py vectors    # prints a JSON object with extra valid and invalid vectors

Conventions (RFC 9381 Section 5.5, suite ECVRF-EDWARDS25519-SHA512-TAI):
    * Hash = SHA-512, hLen = 64
    * cLen = 16, qLen = 32, ptLen = 32
    * q (the prime group order) = L = 2^252 + 27742317777372353535851937790883648493
    * cofactor = 8
    * int_to_string / string_to_int: little-endian (RFC 8032 Section 5.1.2)
    * point_to_string / string_to_point: RFC 8032 Sections 5.1.2 / 5.1.3
    * ECVRF_nonce_generation: RFC 8032 style, RFC 9381 Section 5.4.2.2
    * ECVRF_encode_to_curve: try-and-increment, RFC 9381 Section 5.4.1.1,
      with encode_to_curve_salt = PK_string
"""

import functools
import hashlib
import json
import os
import sys

# ---------------------------------------------------------------------------
# Suite constants (RFC 9381 Section 5.5)
# ---------------------------------------------------------------------------

SUITE_STRING = b"\x03"
C_LEN = 16          # challenge length in octets
Q_LEN = 32          # length of a scalar mod q in octets
PT_LEN = 32         # length of an encoded point in octets
PROOF_LEN = PT_LEN + C_LEN + Q_LEN   # 80
COFACTOR = 8

# Domain separators (RFC 9381 Sections 5.2, 5.4.1.1, 5.4.3)
ENCODE_TO_CURVE_DST_FRONT = b"\x01"
ENCODE_TO_CURVE_DST_BACK = b"\x00"
CHALLENGE_GENERATION_DST_FRONT = b"\x02"
CHALLENGE_GENERATION_DST_BACK = b"\x00"
PROOF_TO_HASH_DST_FRONT = b"\x03"
PROOF_TO_HASH_DST_BACK = b"\x00"


def Hash(data):
    """The suite's hash function: SHA-512 (RFC 9381 Section 5.5)."""
    return hashlib.sha512(data).digest()


# ---------------------------------------------------------------------------
# edwards25519 (RFC 8032 Section 5.1)
#   -x^2 + y^2 = 1 + d x^2 y^2  over GF(p), p = 2^255 - 19
# ---------------------------------------------------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493   # order of B, "q" in RFC 9381


def inv(a):
    """Field inverse via Fermat: a^(p-2) mod p."""
    return pow(a, P - 2, P)


D = (-121665 * inv(121666)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)      # a square root of -1 mod p (RFC 8032 5.1.3)

# Points are kept in extended homogeneous coordinates (X, Y, Z, T) with
# x = X/Z, y = Y/Z, x*y = T/Z  (RFC 8032 Section 5.1.4).
IDENTITY = (0, 1, 1, 0)


def point_add(Pt, Qt):
    """RFC 8032 Section 5.1.4 addition (complete for edwards25519)."""
    X1, Y1, Z1, T1 = Pt
    X2, Y2, Z2, T2 = Qt
    A = (Y1 - X1) * (Y2 - X2) % P
    B_ = (Y1 + X1) * (Y2 + X2) % P
    C = T1 * 2 * D * T2 % P
    D_ = Z1 * 2 * Z2 % P
    E, F, G, H = B_ - A, D_ - C, D_ + C, B_ + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def point_double(Pt):
    """RFC 8032 Section 5.1.4 doubling."""
    X1, Y1, Z1, _ = Pt
    A = X1 * X1 % P
    B_ = Y1 * Y1 % P
    C = 2 * Z1 * Z1 % P
    H = A + B_
    E = H - (X1 + Y1) * (X1 + Y1)
    G = A - B_
    F = C + G
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def point_neg(Pt):
    X, Y, Z, T = Pt
    return ((-X) % P, Y, Z, (-T) % P)


def point_equal(Pt, Qt):
    """Projective equality: x1/z1 == x2/z2 and y1/z1 == y2/z2."""
    X1, Y1, Z1, _ = Pt
    X2, Y2, Z2, _ = Qt
    return (X1 * Z2 - X2 * Z1) % P == 0 and (Y1 * Z2 - Y2 * Z1) % P == 0


def is_identity(Pt):
    return point_equal(Pt, IDENTITY)


def scalar_mult(n, Pt):
    """n*Pt by left-to-right double-and-add (n >= 0; not constant time)."""
    assert n >= 0
    R = IDENTITY
    for i in reversed(range(n.bit_length())):
        R = point_double(R)
        if (n >> i) & 1:
            R = point_add(R, Pt)
    return R


def point_to_string(Pt):
    """RFC 8032 Section 5.1.2 encoding: 32-octet little-endian y, with the
    low bit of x copied into the most significant bit of the last octet."""
    X, Y, Z, _ = Pt
    zi = inv(Z)
    x = X * zi % P
    y = Y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def recover_x(y, sign):
    """Steps 2-4 of RFC 8032 Section 5.1.3.  Returns x or None."""
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    # Step 2: candidate root x = u v^3 (u v^7)^((p-5)/8)
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    # Step 3: three cases
    vx2 = v * x * x % P
    if vx2 == u:
        pass
    elif vx2 == (-u) % P:
        x = x * SQRT_M1 % P
    else:
        return None                     # no square root: not on the curve
    # Step 4: x = 0 with sign bit 1 is a FAILURE (non-canonical encoding)
    if x == 0 and sign == 1:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def string_to_point(s):
    """RFC 8032 Section 5.1.3 decoding, as required by RFC 9381 Section 5.5.

    Returns the point, or None for INVALID.  Rejects:
      * wrong length,
      * non-canonical y (y >= p)                              (step 1),
      * y with no corresponding x on the curve                 (step 3),
      * x = 0 with the sign bit set (non-canonical encoding)   (step 4).
    """
    if len(s) != 32:
        return None
    n = int.from_bytes(s, "little")
    sign = n >> 255
    y = n & ((1 << 255) - 1)
    if y >= P:                          # Step 1: non-canonical y
        return None
    x = recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


# Base point B: y = 4/5, x positive (even)   (RFC 8032 Section 5.1)
B = string_to_point(((4 * inv(5)) % P).to_bytes(32, "little"))
assert B is not None
assert point_to_string(B).hex() == "58" + "66" * 31


# ---------------------------------------------------------------------------
# int <-> string (RFC 9381 Section 5.5: little-endian as in RFC 8032 5.1.2)
# ---------------------------------------------------------------------------

def int_to_string(a, length):
    return a.to_bytes(length, "little")


def string_to_int(s):
    return int.from_bytes(s, "little")


# ---------------------------------------------------------------------------
# Keys (RFC 9381 Section 5.5: "the secret scalar x and public key Y are
# derived from SK as in RFC 8032 Section 5.1.5")
# ---------------------------------------------------------------------------

def secret_scalar(sk):
    """RFC 8032 Section 5.1.5 steps 1-3: h = SHA-512(sk); clamp h[0:32].

    Note: the clamped scalar is NOT reduced mod L (it is what RFC 9381's
    examples list as x)."""
    if len(sk) != 32:
        raise ValueError("secret key must be 32 bytes")
    h = bytearray(Hash(sk)[:32])
    h[0] &= 248          # clear the 3 low bits (multiple of the cofactor)
    h[31] &= 127         # clear bit 255
    h[31] |= 64          # set bit 254
    return string_to_int(bytes(h))


def public_key(sk):
    """Y = x*B, PK_string = point_to_string(Y)   (RFC 8032 Section 5.1.5 step 4)."""
    return point_to_string(scalar_mult(secret_scalar(sk), B))


# ---------------------------------------------------------------------------
# ECVRF_encode_to_curve_try_and_increment (RFC 9381 Section 5.4.1.1)
# ---------------------------------------------------------------------------

def interpret_hash_value_as_a_point(s):
    """RFC 9381 Section 5.5: string_to_point(s[0] || ... || s[ptLen-1])."""
    return string_to_point(s[:PT_LEN])


@functools.lru_cache(maxsize=256)
def _encode_to_curve_tai(encode_to_curve_salt, alpha_string):
    """Returns (H, ctr) where ctr is the counter value that succeeded."""
    # 1. ctr = 0
    ctr = 0
    # 3. H = "INVALID"
    H = None
    # 4. While H is "INVALID" or H is the identity element of the group:
    while H is None or is_identity(H):
        if ctr > 255:
            # ctr_string is a single octet; RFC 9381 notes failure here is
            # astronomically unlikely but the loop must not wrap.
            raise RuntimeError("encode_to_curve: ctr overflow")
        # A. ctr_string = int_to_string(ctr, 1)
        ctr_string = int_to_string(ctr, 1)
        # B. hash_string = Hash(suite_string || 0x01 || salt || alpha_string || ctr_string || 0x00)
        hash_string = Hash(SUITE_STRING + ENCODE_TO_CURVE_DST_FRONT +
                           encode_to_curve_salt + alpha_string +
                           ctr_string + ENCODE_TO_CURVE_DST_BACK)
        # C. H = interpret_hash_value_as_a_point(hash_string)
        H = interpret_hash_value_as_a_point(hash_string)
        # D. If H is not "INVALID" and cofactor > 1, set H = cofactor * H
        if H is not None:
            H = scalar_mult(COFACTOR, H)
        # E. ctr = ctr + 1
        ctr += 1
    return H, ctr - 1


def encode_to_curve_try_and_increment(encode_to_curve_salt, alpha_string):
    """RFC 9381 Section 5.4.1.1.  For this suite encode_to_curve_salt = PK_string."""
    return _encode_to_curve_tai(bytes(encode_to_curve_salt), bytes(alpha_string))[0]


# ---------------------------------------------------------------------------
# ECVRF_nonce_generation_RFC8032 (RFC 9381 Section 5.4.2.2)
# ---------------------------------------------------------------------------

def nonce_generation_hash(sk, h_string):
    """Steps 1-3: the 64-octet k_string BEFORE reduction mod q.
    (This is the form RFC 9381's Appendix B.3 examples print as "k".)"""
    # 1. hashed_sk_string = Hash(SK)
    hashed_sk_string = Hash(sk)
    # 2. truncated_hashed_sk_string = hashed_sk_string[32]...hashed_sk_string[63]
    truncated_hashed_sk_string = hashed_sk_string[32:64]
    # 3. k_string = Hash(truncated_hashed_sk_string || h_string)
    return Hash(truncated_hashed_sk_string + h_string)


def nonce_generation(sk, h_string):
    # 4. k = string_to_int(k_string) mod q
    return string_to_int(nonce_generation_hash(sk, h_string)) % L


# ---------------------------------------------------------------------------
# ECVRF_challenge_generation (RFC 9381 Section 5.4.3)
# ---------------------------------------------------------------------------

def challenge_generation(P1, P2, P3, P4, P5):
    # 1. str = suite_string || challenge_generation_domain_separator_front
    s = SUITE_STRING + CHALLENGE_GENERATION_DST_FRONT
    # 2-3. for PJ in [P1, P2, P3, P4, P5]: str = str || point_to_string(PJ)
    for PJ in (P1, P2, P3, P4, P5):
        s += point_to_string(PJ)
    # 4. str = str || challenge_generation_domain_separator_back
    s += CHALLENGE_GENERATION_DST_BACK
    # 5. c_string = Hash(str)
    c_string = Hash(s)
    # 6. truncated_c_string = c_string[0]...c_string[cLen-1]
    # 7. c = string_to_int(truncated_c_string)
    return string_to_int(c_string[:C_LEN])


# ---------------------------------------------------------------------------
# ECVRF_decode_proof (RFC 9381 Section 5.4.4)
# ---------------------------------------------------------------------------

def decode_proof(pi_string):
    """Returns (Gamma, c, s) or None for INVALID."""
    if len(pi_string) != PROOF_LEN:
        return None
    # 1-3. split pi_string into gamma_string (ptLen), c_string (cLen), s_string (qLen)
    gamma_string = pi_string[:PT_LEN]
    c_string = pi_string[PT_LEN:PT_LEN + C_LEN]
    s_string = pi_string[PT_LEN + C_LEN:]
    # 4. Gamma = string_to_point(gamma_string); 5. if INVALID output INVALID
    Gamma = string_to_point(gamma_string)
    if Gamma is None:
        return None
    # 6. c = string_to_int(c_string)
    c = string_to_int(c_string)
    # 7. s = string_to_int(s_string); 8. if s >= q output INVALID
    s = string_to_int(s_string)
    if s >= L:
        return None
    return Gamma, c, s


# ---------------------------------------------------------------------------
# ECVRF_validate_key (RFC 9381 Section 5.4.5)
# ---------------------------------------------------------------------------

def validate_key(PK_string):
    """Returns Y, or None (INVALID) if PK_string does not decode or if Y has
    small order (cofactor*Y is the identity)."""
    # 1. Y = string_to_point(PK_string); 2. if INVALID output INVALID
    Y = string_to_point(PK_string)
    if Y is None:
        return None
    # 3. Y' = cofactor*Y; 4. if Y' is the identity output INVALID
    if is_identity(scalar_mult(COFACTOR, Y)):
        return None
    return Y


# ---------------------------------------------------------------------------
# ECVRF Proving (RFC 9381 Section 5.1)
# ---------------------------------------------------------------------------

def _prove_detail(sk, alpha_string):
    """ECVRF_prove with every intermediate value returned."""
    # 1. Use SK to derive the secret scalar x and the public key Y = x*B
    x = secret_scalar(sk)
    Y = scalar_mult(x, B)
    PK_string = point_to_string(Y)
    # 2. encode_to_curve_salt = PK_string (Section 5.5, TAI suite)
    # 3. H = ECVRF_encode_to_curve(encode_to_curve_salt, alpha_string)
    H, ctr = _encode_to_curve_tai(PK_string, bytes(alpha_string))
    # 4. h_string = point_to_string(H)
    h_string = point_to_string(H)
    # 5. Gamma = x*H
    Gamma = scalar_mult(x, H)
    # 6. k = ECVRF_nonce_generation(SK, h_string)
    k_string = nonce_generation_hash(sk, h_string)
    k = string_to_int(k_string) % L
    # 7. c = ECVRF_challenge_generation(Y, H, Gamma, k*B, k*H)
    U = scalar_mult(k, B)
    V = scalar_mult(k, H)
    c = challenge_generation(Y, H, Gamma, U, V)
    # 8. s = (k + c*x) mod q
    s = (k + c * x) % L
    # 9. pi_string = point_to_string(Gamma) || int_to_string(c, cLen) || int_to_string(s, qLen)
    pi = point_to_string(Gamma) + int_to_string(c, C_LEN) + int_to_string(s, Q_LEN)
    return dict(x=x, Y=Y, pk=PK_string, H=H, ctr=ctr, h=h_string, Gamma=Gamma,
                k_string=k_string, k=k, U=U, V=V, c=c, s=s, pi=pi)


def prove(sk, alpha_string):
    """ECVRF_prove(SK, alpha_string) -> pi_string (80 octets)."""
    return _prove_detail(sk, alpha_string)["pi"]


# ---------------------------------------------------------------------------
# ECVRF Proof to Hash (RFC 9381 Section 5.2)
# ---------------------------------------------------------------------------

def _gamma_to_hash(Gamma):
    # 4. beta_string = Hash(suite_string || 0x03 || point_to_string(cofactor * Gamma) || 0x00)
    return Hash(SUITE_STRING + PROOF_TO_HASH_DST_FRONT +
                point_to_string(scalar_mult(COFACTOR, Gamma)) +
                PROOF_TO_HASH_DST_BACK)


def proof_to_hash(pi_string):
    """ECVRF_proof_to_hash(pi_string) -> beta_string (64 octets) or None."""
    # 1. D = ECVRF_decode_proof(pi_string); 2. if INVALID output INVALID
    D_ = decode_proof(pi_string)
    if D_ is None:
        return None
    # 3. (Gamma, c, s) = D
    Gamma, _c, _s = D_
    return _gamma_to_hash(Gamma)


def vrf_output32(beta):
    """The 32-octet VRF output used by keytrans / libsignal: beta[:32]."""
    return bytes(beta[:32])


# ---------------------------------------------------------------------------
# ECVRF Verifying (RFC 9381 Section 5.3)
# ---------------------------------------------------------------------------

def verify(PK_string, alpha_string, pi_string, validate_key_flag=True):
    """ECVRF_verify(PK_string, alpha_string, pi_string) -> beta_string or None.

    validate_key_flag=False skips ONLY the small-order check of step 3 (RFC
    9381 allows that as an option); it exists here solely so the self test can
    demonstrate that the forged small-order-key vectors satisfy the
    verification equations and are stopped by validate_key alone.  Real use
    must keep it True.
    """
    PK_string = bytes(PK_string)
    alpha_string = bytes(alpha_string)
    pi_string = bytes(pi_string)
    # 1. Y = string_to_point(PK_string); 2. if INVALID output INVALID
    Y = string_to_point(PK_string)
    if Y is None:
        return None
    # 3. if validate_key, run ECVRF_validate_key(PK_string); if INVALID output INVALID
    if validate_key_flag and validate_key(PK_string) is None:
        return None
    # 4. D = ECVRF_decode_proof(pi_string); 5. if INVALID output INVALID
    D_ = decode_proof(pi_string)
    if D_ is None:
        return None
    # 6. (Gamma, c, s) = D
    Gamma, c, s = D_
    # 7. encode_to_curve_salt = PK_string
    # 8. H = ECVRF_encode_to_curve(encode_to_curve_salt, alpha_string)
    H = encode_to_curve_try_and_increment(PK_string, alpha_string)
    # 9. U = s*B - c*Y
    U = point_add(scalar_mult(s, B), point_neg(scalar_mult(c, Y)))
    # 10. V = s*H - c*Gamma
    V = point_add(scalar_mult(s, H), point_neg(scalar_mult(c, Gamma)))
    # 11. c' = ECVRF_challenge_generation(Y, H, Gamma, U, V)
    c_prime = challenge_generation(Y, H, Gamma, U, V)
    # 12. if c and c' are equal, output ("VALID", ECVRF_proof_to_hash(pi_string))
    if c != c_prime:
        return None
    return proof_to_hash(pi_string)


# ---------------------------------------------------------------------------
# Intermediates for cross-checking
# ---------------------------------------------------------------------------

def intermediates(sk, alpha):
    """Hex of every intermediate of ECVRF_prove + proof_to_hash.

    Required keys (same meaning as the RFC 9381 Appendix B.3 examples):
      x     secret scalar, clamped, NOT reduced mod q, 32 octets little-endian
      pk    PK_string = point_to_string(Y)
      h     h_string = point_to_string(H), H = encode_to_curve(pk, alpha)
      k     k_string: the 64-octet nonce hash BEFORE reduction mod q
      u     point_to_string(k*B)
      v     point_to_string(k*H)
      pi    80-octet proof
      beta  64-octet VRF hash output
    Extra keys: sk, alpha, ctr (try-and-increment counter that succeeded, int),
    k_reduced (k mod q, 32 octets LE), gamma, c (16 octets LE), s (32 octets
    LE), beta32 (= vrf_output32(beta)).
    """
    sk = bytes(sk)
    alpha = bytes(alpha)
    d = _prove_detail(sk, alpha)
    beta = proof_to_hash(d["pi"])
    return {
        "sk": sk.hex(),
        "alpha": alpha.hex(),
        "x": int_to_string(d["x"], 32).hex(),
        "pk": d["pk"].hex(),
        "h": d["h"].hex(),
        "ctr": d["ctr"],
        "k": d["k_string"].hex(),
        "k_reduced": int_to_string(d["k"], 32).hex(),
        "u": point_to_string(d["U"]).hex(),
        "v": point_to_string(d["V"]).hex(),
        "gamma": point_to_string(d["Gamma"]).hex(),
        "c": int_to_string(d["c"], C_LEN).hex(),
        "s": int_to_string(d["s"], Q_LEN).hex(),
        "pi": d["pi"].hex(),
        "beta": beta.hex(),
        "beta32": vrf_output32(beta).hex(),
    }


# ---------------------------------------------------------------------------
# Special encodings used by the negative tests
# ---------------------------------------------------------------------------

def _enc_raw(y, sign):
    """Raw 32-octet encoding of an integer y (may be >= p) and a sign bit."""
    assert 0 <= y < 2**255
    return (y | (sign << 255)).to_bytes(32, "little")


def small_order_points():
    """The 8 points of the torsion subgroup E[8] (canonical encodings),
    computed rather than hard-coded: find some curve point P, then L*P lies in
    E[8]; pick one of exact order 8 and take its multiples."""
    y = 2
    while True:
        Pt = string_to_point(_enc_raw(y, 0))
        if Pt is not None:
            T = scalar_mult(L, Pt)
            if not is_identity(scalar_mult(4, T)):
                break
        y += 1
    pts = []
    R = IDENTITY
    for i in range(8):
        pts.append(R)
        R = point_add(R, T)
    assert is_identity(R)
    # order of each multiple i*T is 8/gcd(i,8)
    import math
    return [(point_to_string(p), 8 // math.gcd(i, 8)) for i, p in enumerate(pts)]


def lax_decode(s):
    """A deliberately WRONG decoder used only to classify test encodings: it
    reduces y mod p and ignores the x=0/sign-bit rule.  Never used to verify."""
    n = int.from_bytes(s, "little")
    sign = n >> 255
    y = (n & ((1 << 255) - 1)) % P
    x = recover_x(y, 0)
    if x is None:
        return None
    if x != 0 and (x & 1) != sign:
        x = P - x
    return (x, y, 1, x * y % P)


def non_canonical_encodings():
    """All encodings rejected by RFC 8032 decoding for non-canonicity that a
    lax decoder would accept as a curve point:
      * y + p for y in 0..18 (the only y with y + p < 2^255), either sign bit;
      * x = 0 with the sign bit set (y = 1 and y = p - 1).
    Returns list of (encoding, description, lax point or None)."""
    out = []
    for y in range(0, 19):
        for sign in (0, 1):
            e = _enc_raw(y + P, sign)
            lp = lax_decode(e)
            if lp is not None:
                out.append((e, "y = p + %d (non-canonical, y >= p), sign bit %d; "
                               "reduced y=%d decodes to %s" %
                            (y, sign, y, point_to_string(lp).hex()), lp))
    for y, name in ((1, "identity"), (P - 1, "order-2 point")):
        e = _enc_raw(y, 1)
        out.append((e, "x = 0 with sign bit set (%s, y = %s)" %
                    (name, "1" if y == 1 else "p-1"), lax_decode(e)))
    return out


def _not_on_curve_encoding():
    """Smallest canonical y whose encoding is not a curve point."""
    y = 2
    while string_to_point(_enc_raw(y, 0)) is not None:
        y += 1
    return _enc_raw(y, 0)


def forge_small_order_proof(pk_string, alpha, Y, seed=b""):
    """Build a proof for a SMALL-ORDER public key Y that satisfies every
    verification equation (U = s*B - c*Y, V = s*H - c*Gamma, c = c'), with
    Gamma = identity.  Such proofs are stopped only by ECVRF_validate_key.

    Method: choose k, guess j = c mod ord(Y), set U = k*B - j*Y, V = k*H,
    s = k; compute c; accept when c*Y == j*Y, else retry (<= 8 tries expected).
    """
    H = encode_to_curve_try_and_increment(pk_string, alpha)
    Gamma = IDENTITY
    ctr = 0
    while True:
        k = string_to_int(Hash(b"forge" + seed + pk_string + alpha +
                               ctr.to_bytes(4, "little"))) % L
        for j in range(8):
            U = point_add(scalar_mult(k, B), point_neg(scalar_mult(j, Y)))
            V = scalar_mult(k, H)
            c = challenge_generation(Y, H, Gamma, U, V)
            if point_equal(scalar_mult(c, Y), scalar_mult(j, Y)):
                return (point_to_string(Gamma) + int_to_string(c, C_LEN) +
                        int_to_string(k, Q_LEN))
        ctr += 1


# ---------------------------------------------------------------------------
# Self test
# ---------------------------------------------------------------------------

VECTORS_PATH = "/work/shared/testdata/vectors/ecvrf_edwards25519_sha512_tai.json"


def _flip(b, bit):
    b = bytearray(b)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def _replace_s(pi, s_int):
    return pi[:PT_LEN + C_LEN] + int_to_string(s_int, Q_LEN)


def selftest(verbose=False):
    def log(msg):
        if verbose:
            print(msg, file=sys.stderr)

    # --- field / curve sanity ----------------------------------------------
    assert SQRT_M1 * SQRT_M1 % P == P - 1
    assert is_identity(scalar_mult(L, B))
    assert not is_identity(B)

    # --- RFC 9381 Appendix B.3 Examples 16-18 --------------------------------
    with open(VECTORS_PATH) as f:
        vecs = json.load(f)["vectors"]
    assert len(vecs) == 3
    fields = ("x", "pk", "h", "k", "u", "v", "pi", "beta")
    for v in vecs:
        sk = bytes.fromhex(v["sk"])
        alpha = bytes.fromhex(v["alpha"])
        got = intermediates(sk, alpha)
        for fld in fields:
            assert got[fld] == v[fld], "%s: %s mismatch:\n got %s\nwant %s" % (
                v["name"], fld, got[fld], v[fld])
        # also via the top-level API
        assert public_key(sk).hex() == v["pk"]
        assert prove(sk, alpha).hex() == v["pi"]
        assert proof_to_hash(bytes.fromhex(v["pi"])).hex() == v["beta"]
        beta = verify(bytes.fromhex(v["pk"]), alpha, bytes.fromhex(v["pi"]))
        assert beta is not None and beta.hex() == v["beta"], v["name"]
        assert vrf_output32(beta) == beta[:32] and len(vrf_output32(beta)) == 32
        log("%s: all intermediates match (ctr=%d)" % (v["name"], got["ctr"]))
    # The vector file notes that Example 17 needs ctr = 1, the others ctr = 0
    assert [intermediates(bytes.fromhex(v["sk"]), bytes.fromhex(v["alpha"]))["ctr"]
            for v in vecs] == [0, 1, 0]

    # --- negative cases -----------------------------------------------------
    for v in vecs:
        pk = bytes.fromhex(v["pk"])
        alpha = bytes.fromhex(v["alpha"])
        pi = bytes.fromhex(v["pi"])
        # (a) every single-bit flip of the 640-bit proof must fail
        for bit in range(PROOF_LEN * 8):
            assert verify(pk, alpha, _flip(pi, bit)) is None, (v["name"], bit)
        # (b) s replaced by s + L (and every s + m*L that still fits in 32 octets)
        s = string_to_int(pi[PT_LEN + C_LEN:])
        m = 1
        while s + m * L < 2**256:
            bad = _replace_s(pi, s + m * L)
            assert verify(pk, alpha, bad) is None, (v["name"], "s+%dL" % m)
            # the verification equations alone would accept it:
            assert _verify_equations_ignoring_s_range(pk, alpha, bad)
            m += 1
        # (c) different alpha, and a different public key
        assert verify(pk, alpha + b"\x00", pi) is None
        assert verify(pk, b"x" + alpha, pi) is None
        other = [w for w in vecs if w is not v][0]
        assert verify(bytes.fromhex(other["pk"]), alpha, pi) is None
        # (d) truncated / extended proofs
        assert verify(pk, alpha, pi[:-1]) is None
        assert verify(pk, alpha, pi + b"\x00") is None
        log("%s: 640 bit flips, s+mL, alpha/pk swaps rejected" % v["name"])

    pk0 = bytes.fromhex(vecs[0]["pk"])
    alpha0 = bytes.fromhex(vecs[0]["alpha"])
    pi0 = bytes.fromhex(vecs[0]["pi"])

    # (e) Gamma replaced by non-canonical encodings / a non-curve point
    nce = non_canonical_encodings()
    assert len(nce) >= 4
    for enc, why, _lp in nce:
        assert string_to_point(enc) is None, why
        assert verify(pk0, alpha0, enc + pi0[PT_LEN:]) is None, why
        assert proof_to_hash(enc + pi0[PT_LEN:]) is None, why
    assert verify(pk0, alpha0, _not_on_curve_encoding() + pi0[PT_LEN:]) is None
    # specific encodings named in the brief
    assert string_to_point(bytes.fromhex("ed" + "ff" * 30 + "7f")) is None   # y = p
    assert string_to_point(bytes.fromhex("ee" + "ff" * 30 + "7f")) is None   # y = p+1
    assert string_to_point(bytes.fromhex("01" + "00" * 30 + "80")) is None   # x=0, sign=1
    log("non-canonical / off-curve Gamma rejected (%d encodings)" % len(nce))

    # (f) small-order public keys are rejected by validate_key, even with
    #     proofs forged to satisfy every verification equation
    sop = small_order_points()
    encs = {e.hex() for e, _o in sop}
    assert "01" + "00" * 31 in encs                  # identity
    assert "ec" + "ff" * 30 + "7f" in encs           # order 2: y = p - 1
    assert "00" * 32 in encs and "00" * 31 + "80" in encs   # order 4: y = 0
    for enc, order in sop:
        assert validate_key(enc) is None
        for alpha in (b"", b"alice@example.com"):
            forged = forge_small_order_proof(enc, alpha, string_to_point(enc))
            assert verify(enc, alpha, forged, validate_key_flag=False) is not None
            assert verify(enc, alpha, forged) is None
            # and an honest proof of someone else is rejected too
            assert verify(enc, alpha0, pi0) is None
    log("8 small-order public keys rejected (forged proofs pass equations only)")

    # (g) non-canonical public keys are rejected at decoding
    for enc, why, _lp in nce:
        assert validate_key(enc) is None, why
        assert verify(enc, alpha0, pi0) is None, why
    assert verify(_not_on_curve_encoding(), alpha0, pi0) is None

    # (h) a valid proof still verifies (guard against an always-fail verify)
    assert verify(pk0, alpha0, pi0) is not None
    return True


def _verify_equations_ignoring_s_range(PK_string, alpha_string, pi_string):
    """Steps 9-12 of verification WITHOUT the s < q check (test helper only):
    shows that s + m*L proofs are caught by the range check alone."""
    Y = validate_key(PK_string)
    Gamma = string_to_point(pi_string[:PT_LEN])
    c = string_to_int(pi_string[PT_LEN:PT_LEN + C_LEN])
    s = string_to_int(pi_string[PT_LEN + C_LEN:])
    H = encode_to_curve_try_and_increment(PK_string, alpha_string)
    U = point_add(scalar_mult(s, B), point_neg(scalar_mult(c, Y)))
    V = point_add(scalar_mult(s, H), point_neg(scalar_mult(c, Gamma)))
    return c == challenge_generation(Y, H, Gamma, U, V)


# ---------------------------------------------------------------------------
# Additional vectors of our own (deterministic)
# ---------------------------------------------------------------------------

def our_secret_keys():
    return [hashlib.sha256(b"ktlog vrf key %d" % i).digest() for i in range(3)]


OUR_ALPHAS = [b"", b"alice@example.com", b"\xff" * 3, b"bob"]


def make_vectors():
    sks = our_secret_keys()
    valid = []
    for i, sk in enumerate(sks):
        for alpha in OUR_ALPHAS:
            iv = intermediates(sk, alpha)
            iv = dict([("name", "sk=sha256(b'ktlog vrf key %d'), alpha=%r" % (i, alpha))]
                      + list(iv.items()))
            # sanity: our own verify accepts it
            assert verify(bytes.fromhex(iv["pk"]), alpha,
                          bytes.fromhex(iv["pi"])).hex() == iv["beta"]
            valid.append(iv)

    invalid = []

    def add(pk, alpha, pi, why, rejected_by):
        assert verify(pk, alpha, pi) is None, why
        invalid.append({"pk": pk.hex(), "alpha": alpha.hex(), "pi": pi.hex(),
                        "why": why, "rejected_by": rejected_by})

    sk0 = sks[0]
    a0 = b"alice@example.com"
    d0 = _prove_detail(sk0, a0)
    pk0, pi0 = d0["pk"], d0["pi"]
    pk1 = public_key(sks[1])

    # -- mutated proofs (single bit flips in each field) --
    for bit, field in ((0, "Gamma"), (8 * 15 + 3, "Gamma"), (254, "Gamma"),
                       (255, "Gamma sign bit (gives -Gamma, a valid point)"),
                       (256, "c"), (256 + 64, "c"), (256 + 127, "c top bit"),
                       (384, "s"), (384 + 100, "s"), (384 + 251, "s bit 251"),
                       (384 + 252, "s bit 252 (makes s >= L)"),
                       (639, "s top bit (makes s >= L)")):
        flipped = _flip(pi0, bit)
        rb = "challenge_mismatch"
        if decode_proof(flipped) is None:
            rb = ("decode_proof:gamma" if string_to_point(flipped[:32]) is None
                  else "decode_proof:s_range")
        add(pk0, a0, flipped, "proof bit %d flipped (%s)" % (bit, field), rb)

    # -- s >= L --
    s0 = d0["s"]
    add(pk0, a0, _replace_s(pi0, s0 + L),
        "s replaced by s + L (satisfies the verification equations; only the s < L check rejects it)",
        "decode_proof:s_range")
    m_max = (2**256 - 1 - s0) // L
    add(pk0, a0, _replace_s(pi0, s0 + m_max * L),
        "s replaced by s + %d*L (largest multiple fitting in 32 octets; equations hold)" % m_max,
        "decode_proof:s_range")
    add(pk0, a0, _replace_s(pi0, L), "s = L exactly", "decode_proof:s_range")
    add(pk0, a0, _replace_s(pi0, 2**256 - 1), "s = 2^256 - 1", "decode_proof:s_range")

    # -- non-canonical / invalid Gamma --
    for enc, why, _lp in non_canonical_encodings():
        add(pk0, a0, enc + pi0[PT_LEN:], "Gamma non-canonical: " + why,
            "decode_proof:gamma")
    add(pk0, a0, _not_on_curve_encoding() + pi0[PT_LEN:],
        "Gamma is not a curve point", "decode_proof:gamma")

    # -- wrong alpha / wrong key --
    add(pk0, b"bob", pi0, "valid proof for alpha 'alice@example.com' checked against alpha 'bob'",
        "challenge_mismatch")
    add(pk0, b"alice@example.co", pi0, "alpha truncated by one byte", "challenge_mismatch")
    add(pk1, a0, pi0, "proof made with key 0 checked against pk of key 1", "challenge_mismatch")

    # -- small-order public keys (proofs forged to satisfy the equations) --
    for enc, order in small_order_points():
        for alpha in (b"", a0):
            forged = forge_small_order_proof(enc, alpha, string_to_point(enc))
            assert verify(enc, alpha, forged, validate_key_flag=False) is not None
            add(enc, alpha, forged,
                "small-order pk (order %d); proof forged with Gamma = identity so that "
                "U = s*B - c*Y, V = s*H - c*Gamma and c = c' all hold: only "
                "ECVRF_validate_key rejects it" % order, "validate_key:small_order")

    # -- non-canonical / invalid public keys --
    for enc, why, lp in non_canonical_encodings():
        if lp is not None and is_identity(scalar_mult(COFACTOR, lp)):
            # reduces to a small-order point: forge a proof that would pass a
            # verifier lax on BOTH canonicity and small order (salt = raw pk
            # octets, challenge over the re-encoded Y)
            pi = forge_small_order_proof(enc, a0, lp)
            note = ("; reduces to a small-order point, proof forged so it would pass a verifier "
                    "that neither rejects non-canonical encodings nor small-order keys "
                    "(salt = raw pk octets, Y re-encoded canonically in the challenge)")
        else:
            pi = pi0
            note = "; proof is key 0's proof for the same alpha"
        add(enc, a0, pi, "pk non-canonical: " + why + note, "decode_pk")
    add(_not_on_curve_encoding(), a0, pi0, "pk is not a curve point", "decode_pk")

    # -- wrong lengths (kept separate: some APIs take fixed-size arrays) --
    invalid_length = [
        {"pk": pk0.hex(), "alpha": a0.hex(), "pi": pi0[:-1].hex(), "why": "proof 79 octets"},
        {"pk": pk0.hex(), "alpha": a0.hex(), "pi": (pi0 + b"\x00").hex(), "why": "proof 81 octets"},
        {"pk": pk0[:-1].hex(), "alpha": a0.hex(), "pi": pi0.hex(), "why": "pk 31 octets"},
    ]
    for e in invalid_length:
        assert verify(bytes.fromhex(e["pk"]), bytes.fromhex(e["alpha"]),
                      bytes.fromhex(e["pi"])) is None

    return {
        "suite": "ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381, suite_string 0x03)",
        "generator": "notes/ecvrf/ecvrf.py (independent pure-Python implementation)",
        "notes": [
            "all byte strings are hex; sk_i = SHA-256(b'ktlog vrf key i')",
            "k is the 64-octet nonce hash before reduction (as in RFC 9381 B.3); "
            "k_reduced = k mod L, 32 octets little-endian",
            "x is the clamped secret scalar, not reduced mod L, 32 octets little-endian",
            "c is 16 octets and s 32 octets, little-endian; pi = gamma || c || s",
            "ctr is the try-and-increment counter value that produced H",
            "beta32 = beta[:32] (keytrans / libsignal VRF output)",
            "every 'invalid' entry must make verify() return INVALID; rejected_by names "
            "the first check that rejects it in RFC 9381 Section 5.3 order",
        ],
        "small_order_points": [{"encoding": e.hex(), "order": o}
                               for e, o in small_order_points()],
        "valid": valid,
        "invalid": invalid,
        "invalid_length": invalid_length,
    }


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

def main(argv):
    if len(argv) != 2 or argv[1] not in ("selftest", "vectors"):
        print("usage: python3 ecvrf.py selftest|vectors", file=sys.stderr)
        return 2
    if argv[1] == "selftest":
        selftest(verbose=bool(os.environ.get("ECVRF_VERBOSE")))
        print("ok")
    else:
        print(json.dumps(make_vectors(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
