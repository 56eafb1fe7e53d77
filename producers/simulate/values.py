"""Indicator values for simulated traffic: realistic for Peru, canonical, never repeated by
accident.

``Values`` draws every value from one seeded ``random.Random`` and remembers what it drew, so
two draws never collide: background incidents really share nothing, and a campaign's values
are its own. Values come out in the canonical form of ``confianza.schemas.indicators`` (lower
case hosts, E.164 phones, compact CCIs and IBANs, lower case hashes), which is what the ground
truth lists. ``spell`` writes a value the way partners do (defanged URLs, ``987 654 321``,
``CCI 002-191-…``, upper case hashes): different text, same canonical value.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

from confianza.schemas.indicators.accounts import cci_check_digits

_WORDS = (
    "zonasegura",
    "validacion",
    "clientes",
    "seguridad",
    "verificacion",
    "actualizacion",
    "bonos",
    "premios",
    "puntos",
    "beneficios",
    "banca",
    "movil",
    "token",
    "tarjeta",
    "pagos",
    "reembolso",
    "consulta",
    "tramite",
    "acceso",
    "soporte",
    "alerta",
    "bloqueo",
    "desbloqueo",
)
_TLDS = ("com", "net", "online", "site", "xyz", "info", "top", "click", "lat", "shop", "com.pe")
_PATHS = (
    "/login",
    "/zona-segura/acceso.php",
    "/validar/tarjeta",
    "/bono/consulta",
    "/actualizar-datos",
    "/yape/premio",
    "/token/activar",
    "/clientes/verificacion",
    "/seguridad/desbloqueo.html",
    "/reembolso/solicitud",
)
_FIRST_OCTETS = (38, 45, 103, 104, 138, 154, 167, 179, 181, 185, 186, 190, 191, 200, 201)
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_IBAN_LAYOUTS = (("DE", 18), ("PT", 21))


def _slug(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _b58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rest = divmod(number, 58)
        out = _B58[rest] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def iban_check_digits(country: str, bban: str) -> str:
    """The two ISO 13616 check digits (mod 97) of a country code and BBAN."""
    number = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    return f"{98 - number % 97:02d}"


class Values:
    """Fresh indicator values, canonical and unique within one simulation."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[tuple[str, str]] = set()

    def _fresh(self, kind: str, make: Callable[[], str]) -> str:
        while True:
            value = make()
            if (kind, value) not in self.used:
                self.used.add((kind, value))
                return value

    def _digits(self, count: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(count))

    def _hex(self, count: int) -> str:
        return f"{self.rng.getrandbits(count * 4):0{count}x}"

    # --- hosts, URLs, addresses --------------------------------------------------------------

    def lookalike_domain(self, brand: str) -> str:
        """A registered domain that imitates ``brand`` (``bcp-zonasegura.online``), or the
        state (``gob-pe-bonos.site``) when the brand is ``gob.pe``."""
        rng = self.rng

        def make() -> str:
            word, tld = rng.choice(_WORDS), rng.choice(_TLDS)
            name = "gob-pe" if brand == "gob.pe" else _slug(brand)
            shape = rng.randrange(3)
            label = (f"{name}-{word}", f"{word}-{name}", f"{name}{word}")[shape]
            if rng.random() < 0.3:
                label += f"-{rng.randrange(2, 99)}"
            return f"{label}.{tld}"

        return self._fresh("domain", make)

    def host_on(self, domain: str, brand: str) -> str:
        """A host name under ``domain``: the domain itself or a deceptive sub-domain
        (``gob.pe.consulta-dni.com``, ``viabcp.clientes-seguro.com``)."""
        choice = self.rng.randrange(4)
        if choice == 0:
            return domain
        prefix = ("www", "m", "gob.pe" if brand == "gob.pe" else _slug(brand))[choice - 1]
        return f"{prefix}.{domain}"

    def url(self, host: str) -> str:
        """A phishing URL on ``host`` with a realistic path and query."""
        rng = self.rng

        def make() -> str:
            scheme = "https" if rng.random() < 0.8 else "http"
            query = rng.choice(("", f"?id={self._hex(6)}", f"?dni={self._digits(8)}"))
            return f"{scheme}://{host}{rng.choice(_PATHS)}{query}"

        return self._fresh("url", make)

    def ipv4(self) -> str:
        rng = self.rng
        return self._fresh(
            "ipv4",
            lambda: (
                f"{rng.choice(_FIRST_OCTETS)}.{rng.randrange(256)}."
                f"{rng.randrange(256)}.{rng.randrange(1, 255)}"
            ),
        )

    def email(self, domain: str) -> str:
        rng = self.rng
        local = ("soporte", "notificaciones", "seguridad", "alertas", "clientes", "premios")
        return self._fresh("email", lambda: f"{rng.choice(local)}{rng.randrange(1, 999)}@{domain}")

    # --- phones and money -------------------------------------------------------------------

    def mobile(self) -> str:
        """A Peruvian mobile number in E.164 (``+519…``): SMS senders, Yape/Plin keys."""
        return self._fresh("phone", lambda: "+519" + self._digits(8))

    def cci(self, bank_code: str) -> str:
        """A 20-digit CCI of ``bank_code`` with valid check digits."""

        def make() -> str:
            first18 = bank_code + self._digits(15)
            return first18 + cci_check_digits(first18)

        return self._fresh("bank-account", make)

    def iban(self) -> str:
        """A foreign IBAN (Germany or Portugal) where money is cashed out, mod-97 valid."""

        def make() -> str:
            country, length = self.rng.choice(_IBAN_LAYOUTS)
            bban = self._digits(length)
            return f"{country}{iban_check_digits(country, bban)}{bban}"

        return self._fresh("iban", make)

    def wallet(self) -> str:
        """An Ethereum (lower case) or Tron (Base58Check) address: USDT cash-out."""
        if self.rng.random() < 0.5:
            return self._fresh("crypto-wallet", lambda: "0x" + self._hex(40))
        return self._fresh("crypto-wallet", lambda: _b58check(b"\x41" + self.rng.randbytes(20)))

    # --- files ----------------------------------------------------------------------------

    def file_hash(self, kind: str) -> str:
        length = {"md5": 32, "sha1": 40, "sha256": 64}[kind]
        return self._fresh(kind, lambda: self._hex(length))


def spell(rng: random.Random, kind: str, value: str) -> str:
    """``value`` as a partner might write it; it normalizes back to ``value``."""
    style = rng.random()
    if kind == "url" and style < 0.5:
        scheme, _, rest = value.partition("://")
        host, slash, path = rest.partition("/")
        if style < 0.2:
            return f"{scheme.replace('tt', 'xx')}://{host.replace('.', '[.]')}{slash}{path}"
        if style < 0.35:
            return f"{scheme}://{host.upper()}{slash}{path}"
        port = ":443" if scheme == "https" else ":80"
        return f"{scheme}://{host}{port}{slash}{path}"
    if kind in ("domain", "ipv4") and style < 0.3:
        head, _, last = value.rpartition(".")
        return f"{head}[.]{last}"
    if kind == "email" and style < 0.3:
        local, _, domain = value.partition("@")
        return f"{local}@{domain.upper()}"
    if kind == "phone":
        national = value.removeprefix("+51")
        if style < 0.3:
            return f"{national[:3]} {national[3:6]} {national[6:]}"
        if style < 0.5:
            return f"+51 {national}"
        if style < 0.6:
            return f"{national[:3]}-{national[3:6]}-{national[6:]}"
        return value
    if kind == "bank-account" and style < 0.5:
        return f"CCI {value[:3]}-{value[3:6]}-{value[6:18]}-{value[18:]}"
    if kind == "iban" and style < 0.6:
        return " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    if kind in ("md5", "sha1", "sha256") and style < 0.4:
        return value.upper()
    return value
