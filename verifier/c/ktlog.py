"""Python binding of the ktlog client library's C API (ktlog_client.h),
with ctypes from the standard library: an app in Python supplies the
transport (one unary call of ktlog.v1.Log with serialized protobuf
messages), the state store and the account key store; the library verifies
and decides. See docs/client-library.md.
"""

import ctypes
import json

_u8p = ctypes.POINTER(ctypes.c_uint8)
_CALL = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, _u8p,
                         ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p)
_LOAD = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.c_void_p)
_SAVE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, _u8p, ctypes.c_size_t,
                         ctypes.c_void_p)
_GET = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                        ctypes.c_void_p)
_SIGN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, _u8p, ctypes.c_size_t,
                         ctypes.c_void_p, ctypes.c_void_p)
_DO = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
_u8pp = ctypes.POINTER(_u8p)
_sizep = ctypes.POINTER(ctypes.c_size_t)
_MAKE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                         ctypes.c_char_p, ctypes.c_int, _u8pp, _sizep,
                         ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.c_void_p)
_ASSERT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p,
                           _u8pp, _sizep, ctypes.c_size_t, _u8p, ctypes.c_int,
                           ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                           ctypes.c_void_p)

NOT_FOUND = 5
INTERNAL = 13


class _Result(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("refusal", ctypes.c_int),
                ("alerts", ctypes.c_int), ("message", ctypes.c_char * 512)]


class _Callbacks(ctypes.Structure):
    _fields_ = [("ctx", ctypes.c_void_p), ("call", _CALL), ("load_state", _LOAD),
                ("save_state", _SAVE), ("account_public_key", _GET),
                ("account_sign", _SIGN), ("prepare_next_key", _GET),
                ("next_public_key", _GET), ("promote_next_key", _DO),
                ("next_sign", _SIGN), ("key_make_credential", _MAKE),
                ("key_get_assertion", _ASSERT)]


class Error(Exception):
    """A call that did not succeed: `code` (gRPC status code), `refusal`
    (the name of what did not verify, or "NONE"), `alerts` (new alerts)."""

    def __init__(self, code, refusal, alerts, message):
        super().__init__("%s (code %d, refusal %s, %d new alert(s))" %
                         (message, code, refusal, alerts))
        self.code, self.refusal, self.alerts = code, refusal, alerts
        self.message = message


class TransportError(Exception):
    """Raised by a transport (or a security key): the call's gRPC status
    code and message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


class Library:
    """The loaded shared library (libktlog_client.so)."""

    def __init__(self, path):
        lib = ctypes.CDLL(path)
        lib.ktlog_bytes_new.restype = ctypes.c_void_p
        lib.ktlog_bytes_free.argtypes = [ctypes.c_void_p]
        lib.ktlog_bytes_set.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                        ctypes.c_size_t]
        lib.ktlog_bytes_data.restype = ctypes.c_void_p
        lib.ktlog_bytes_data.argtypes = [ctypes.c_void_p]
        lib.ktlog_bytes_len.restype = ctypes.c_size_t
        lib.ktlog_bytes_len.argtypes = [ctypes.c_void_p]
        lib.ktlog_refusal_name.restype = ctypes.c_char_p
        lib.ktlog_client_open.restype = ctypes.c_void_p
        lib.ktlog_client_open.argtypes = [
            ctypes.POINTER(_Callbacks), ctypes.c_char_p, ctypes.c_char_p,
            ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(_Result)]
        lib.ktlog_client_restore.restype = ctypes.c_void_p
        lib.ktlog_client_restore.argtypes = [
            ctypes.POINTER(_Callbacks), ctypes.c_char_p, ctypes.c_char_p,
            ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p,
            ctypes.c_uint64, ctypes.POINTER(_Result)]
        lib.ktlog_client_close.argtypes = [ctypes.c_void_p]
        lib.ktlog_unverified.argtypes = [ctypes.c_void_p]
        # Every call's types: a pointer passed as a C int would be cut to 32
        # bits.
        vp, cp, res = ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(_Result)
        u64p, intp = ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_int)
        for name, args in {
                "ktlog_add_device": [vp, cp, cp, cp, u64p, intp, res],
                "ktlog_remove_device": [vp, cp, u64p, intp, res],
                "ktlog_rotate_account_key": [vp, u64p, intp, res],
                "ktlog_prepare_reset": [vp, vp, res],
                "ktlog_reset_account": [vp, cp, u64p, intp, res],
                "ktlog_monitor": [vp, res],
                "ktlog_lookup": [vp, cp, vp, res],
                "ktlog_safety_code": [vp, cp, vp, vp, res],
                "ktlog_compare_code": [vp, cp, cp, intp, res],
                "ktlog_alerts": [vp, vp, res],
                "ktlog_enroll_security_key": [vp, ctypes.c_int, ctypes.c_int,
                                              vp, res],
                "ktlog_set_security_keys": [vp, u64p, intp, res],
                "ktlog_remove_security_key": [vp, cp, ctypes.c_size_t, u64p,
                                              intp, res],
                "ktlog_backup_secrets": [vp, ctypes.c_int, cp, ctypes.c_uint64,
                                         vp, res],
                "ktlog_backup_create": [vp, u64p, u64p, intp, res],
                "ktlog_backup_delete": [vp, u64p, intp, res]}.items():
            getattr(lib, name).argtypes = args
            getattr(lib, name).restype = ctypes.c_int
        self.lib = lib

    def set(self, handle, data):
        self.lib.ktlog_bytes_set(handle, data, len(data))

    def read(self, handle):
        n = self.lib.ktlog_bytes_len(handle)
        return ctypes.string_at(self.lib.ktlog_bytes_data(handle), n) if n else b""

    def refusal_name(self, refusal):
        return self.lib.ktlog_refusal_name(refusal).decode()


class Client:
    """One client state over the app's `transport` (method, request bytes)
    -> response bytes (raising TransportError), `state` (load() -> bytes or
    None, save(bytes)) and `keys` (public_key(), sign(message),
    prepare_next(), next_public_key() -> bytes or b"", promote_next()), and
    optionally a FIDO2 `security_key` (make_credential(rp_id, account_id,
    cose_algorithm, exclude ids) -> (credential id, public key);
    get_assertion(rp_id, credential ids, client data hash, uv) ->
    (credential id, authenticator data, signature); raising TransportError
    with a status code: 4 nobody touched it, 5 none of the credentials, 6
    an excluded one, 14 no key)."""

    def __init__(self, library, transport, state, keys, log_key, account,
                 device, allow_no_witnesses=False, security_key=None,
                 restore=None):
        """`restore`: instead of opening a state, restore the account's
        trust backup into the empty `state` store: a dict with "secret"
        (the recovery key's text, or the passphrase if "passphrase" is
        true), "credential" (the operator's backup-fetch credential) and
        "max_checkpoint_age_ms" (0: 15 minutes). `last_alerts` then counts
        the alerts about what changed while the backup was away."""
        self._l, self._lib = library, library.lib
        self._transport, self._state, self._keys = transport, state, keys
        self._security_key = security_key
        self._callbacks = self._make_callbacks()  # kept alive with the client
        result = _Result()
        if restore is None:
            self._handle = self._lib.ktlog_client_open(
                ctypes.byref(self._callbacks), log_key.encode(),
                account.encode(), device.encode(),
                1 if allow_no_witnesses else 0, ctypes.byref(result))
        else:
            credential = restore.get("credential")
            self._handle = self._lib.ktlog_client_restore(
                ctypes.byref(self._callbacks), log_key.encode(),
                account.encode(), device.encode(),
                0 if restore.get("passphrase") else 1,
                restore["secret"].encode(),
                credential.encode() if credential else None,
                restore.get("max_checkpoint_age_ms", 0), ctypes.byref(result))
        self.last_alerts = result.alerts
        if not self._handle:
            raise self._error(result)

    def close(self):
        if self._handle:
            self._lib.ktlog_client_close(self._handle)
            self._handle = None

    def _guard(self, error, fn):
        """Runs a callback body; an exception becomes its status code (1..16:
        an exception must never leave a callback, whose return value would
        then be undefined)."""
        try:
            try:
                code = fn()
                return code if isinstance(code, int) and 0 <= code <= 16 \
                    else INTERNAL
            except TransportError as e:
                self._l.set(error, str(e).encode(errors="replace"))
                code = e.code
                return code if isinstance(code, int) and 1 <= code <= 16 \
                    else INTERNAL
            except Exception as e:  # pylint: disable=broad-except
                self._l.set(error, ("%s: %s" % (type(e).__name__, e)).encode(
                    errors="replace"))
                return INTERNAL
        except BaseException:  # pylint: disable=broad-except
            return INTERNAL

    def _make_callbacks(self):
        l = self._l

        def call(_, method, req, n, response, error):
            def body():
                l.set(response, self._transport(method.decode(),
                                                ctypes.string_at(req, n)))
                return 0
            return self._guard(error, body)

        def load(_, out, error):
            def body():
                data = self._state.load()
                if data is None:
                    return NOT_FOUND
                l.set(out, data)
                return 0
            return self._guard(error, body)

        def save(_, data, n, error):
            return self._guard(error, lambda: self._state.save(
                ctypes.string_at(data, n)) or 0)

        def getter(fn):
            def cb(_, out, error):
                def body():
                    l.set(out, fn())
                    return 0
                return self._guard(error, body)
            return _GET(cb)

        def signer(fn):
            def cb(_, msg, n, out, error):
                def body():
                    l.set(out, fn(ctypes.string_at(msg, n)))
                    return 0
                return self._guard(error, body)
            return _SIGN(cb)

        def promote(_, error):
            return self._guard(error, lambda: self._keys.promote_next() or 0)

        def ids(data, lens, n):
            return [ctypes.string_at(data[i], lens[i]) for i in range(n)]

        def make(_, rp_id, account, algorithm, exclude, lens, n, cred_id,
                 public_key, error):
            def body():
                made = self._security_key.make_credential(
                    rp_id.decode(), account.decode(), algorithm,
                    ids(exclude, lens, n))
                l.set(cred_id, made[0])
                l.set(public_key, made[1])
                return 0
            return self._guard(error, body)

        def assertion(_, rp_id, cred_ids, lens, n, cdh, uv, cred_id, data,
                      signature, error):
            def body():
                got = self._security_key.get_assertion(
                    rp_id.decode(), ids(cred_ids, lens, n),
                    ctypes.string_at(cdh, 32), bool(uv))
                for out, value in zip((cred_id, data, signature), got):
                    l.set(out, value)
                return 0
            return self._guard(error, body)

        # A key store without sign_next cannot reset the account; a client
        # without a security key cannot use one.
        next_sign = (signer(self._keys.sign_next)
                     if hasattr(self._keys, "sign_next") else _SIGN())
        key = self._security_key is not None
        return _Callbacks(None, _CALL(call), _LOAD(load), _SAVE(save),
                          getter(self._keys.public_key),
                          signer(self._keys.sign),
                          getter(self._keys.prepare_next),
                          getter(self._keys.next_public_key), _DO(promote),
                          next_sign, _MAKE(make) if key else _MAKE(),
                          _ASSERT(assertion) if key else _ASSERT())

    def _error(self, result):
        return Error(result.code, self._l.refusal_name(result.refusal),
                     result.alerts, result.message.decode(errors="replace"))

    def _run(self, fn, *args):
        result = _Result()
        fn(ctypes.c_void_p(self._handle), *args, ctypes.byref(result))
        self.last_alerts = result.alerts
        if result.code != 0:
            raise self._error(result)

    def _bytes_out(self, fn, *args):
        out = self._lib.ktlog_bytes_new()
        try:
            self._run(fn, *args, ctypes.c_void_p(out))
            return self._l.read(out)
        finally:
            self._lib.ktlog_bytes_free(ctypes.c_void_p(out))

    def _write(self, fn, *args):
        leaf, verified = ctypes.c_uint64(), ctypes.c_int()
        self._run(fn, *args, ctypes.byref(leaf), ctypes.byref(verified))
        return leaf.value, bool(verified.value)

    def add_device(self, device_id, key, credential=None):
        """Publishes a device (32-byte key); (leaf index, verified)."""
        assert len(key) == 32
        return self._write(self._lib.ktlog_add_device,
                           ctypes.c_char_p(device_id.encode()),
                           ctypes.c_char_p(key),
                           ctypes.c_char_p(credential.encode()
                                           if credential else None))

    def remove_device(self, device_id):
        return self._write(self._lib.ktlog_remove_device,
                           ctypes.c_char_p(device_id.encode()))

    def rotate_account_key(self):
        return self._write(self._lib.ktlog_rotate_account_key)

    def prepare_reset(self):
        """Every key lost: the new account key's public key (32 bytes),
        for the operator's reset credential."""
        return self._bytes_out(self._lib.ktlog_prepare_reset)

    def reset_account(self, credential):
        """Publishes the reset; (leaf index, verified)."""
        return self._write(self._lib.ktlog_reset_account,
                           ctypes.c_char_p(credential.encode()))

    def enroll_security_key(self, eddsa=False, require_uv=False):
        """A credential on the key the user presents, checked to sign (two
        touches); kept for set_security_keys. Returns its id."""
        return self._bytes_out(self._lib.ktlog_enroll_security_key,
                               ctypes.c_int(1 if eddsa else 0),
                               ctypes.c_int(1 if require_uv else 0))

    def set_security_keys(self):
        """The account onto the keys enrolled (or them added to its
        keys); (leaf index, verified)."""
        return self._write(self._lib.ktlog_set_security_keys)

    def remove_security_key(self, credential_id):
        return self._write(self._lib.ktlog_remove_security_key,
                           ctypes.c_char_p(credential_id),
                           ctypes.c_size_t(len(credential_id)))

    def backup_secrets(self, recovery_key=False, passphrase=None,
                       passphrase_memory=0):
        """New backup secrets; the new recovery key's text (or "")."""
        return self._bytes_out(
            self._lib.ktlog_backup_secrets, ctypes.c_int(1 if recovery_key else 0),
            ctypes.c_char_p(passphrase.encode() if passphrase else None),
            ctypes.c_uint64(passphrase_memory)).decode()

    def backup_create(self):
        """(backup version, leaf index, verified)."""
        version = ctypes.c_uint64()
        leaf, verified = self._write(self._lib.ktlog_backup_create,
                                     ctypes.byref(version))
        return version.value, leaf, verified

    def backup_delete(self):
        return self._write(self._lib.ktlog_backup_delete)

    def monitor(self):
        self._run(self._lib.ktlog_monitor)

    def unverified(self):
        """How many of the owner's writes wait for verification."""
        return self._lib.ktlog_unverified(ctypes.c_void_p(self._handle))

    def lookup(self, account):
        """The account's verified devices (a dict, see ktlog_client.h)."""
        return json.loads(self._bytes_out(self._lib.ktlog_lookup,
                                          ctypes.c_char_p(account.encode())))

    def safety_code(self, contact):
        """The 60 digits of the safety code with `contact`."""
        out = self._lib.ktlog_bytes_new()
        try:
            self._run(self._lib.ktlog_safety_code,
                      ctypes.c_char_p(contact.encode()), ctypes.c_void_p(out),
                      ctypes.c_void_p(None))
            return self._l.read(out).decode()
        finally:
            self._lib.ktlog_bytes_free(ctypes.c_void_p(out))

    def compare_code(self, contact, shown):
        """Whether `shown` matches; a match verifies the contact."""
        match = ctypes.c_int()
        self._run(self._lib.ktlog_compare_code,
                  ctypes.c_char_p(contact.encode()),
                  ctypes.c_char_p(shown.encode()), ctypes.byref(match))
        return bool(match.value)

    def alerts(self):
        return json.loads(self._bytes_out(self._lib.ktlog_alerts))
