"""Human-readable alert text in Spanish, shared by the email and chat channels.

``render(alert, subscriber)`` is called once per notification with the *gated* alert (never the
original), and returns the parts every human channel shows: subject, summary lines, the
reasons, the indicators (defanged, so nothing is clickable by accident) and advice written for
the subscriber's audience: citizens get plain steps to protect themselves, banks and telecoms
get indicators to block, government and justice get what to check and whom to tell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from confianza.consumers.gate import GatedAlert, tlp_rank
from confianza.consumers.subscriptions import Subscriber

SEVERITY = {"low": "baja", "medium": "media", "high": "alta", "critical": "crítica"}
TRANSITION = {
    "opened": "nueva",
    "updated": "actualizada",
    "escalated": "escalada",
    "resolved": "resuelta",
}
KIND = {
    "url": "Enlace",
    "domain": "Dominio",
    "ipv4": "Dirección IP",
    "ipv6": "Dirección IP",
    "email": "Correo electrónico",
    "phone": "Teléfono",
    "iban": "IBAN",
    "bank-account": "Cuenta bancaria",
    "cci": "CCI",
    "crypto-wallet": "Billetera cripto",
    "md5": "Hash MD5",
    "sha1": "Hash SHA-1",
    "sha256": "Hash SHA-256",
}
PUBLIC_KINDS = frozenset({"url", "domain", "phone", "email"})
MAX_INDICATORS_SHOWN = 50
MAX_PUBLIC_INDICATORS = 5

ADVICE: Mapping[str, tuple[str, ...]] = {
    "public": (
        "No abra enlaces ni descargue archivos que le lleguen por SMS, WhatsApp o correo "
        "pidiendo sus datos, aunque parezcan de su banco o del Estado.",
        "Su banco nunca le pedirá por teléfono o mensaje su clave, su token ni códigos de "
        "verificación. Ante la duda, cuelgue y llame usted al número oficial de su banco.",
        "No transfiera dinero ni haga pagos por Yape o Plin a números que no conoce.",
        "Si ya compartió sus datos o hizo un pago, llame de inmediato a su banco para "
        "bloquear sus cuentas y denuncie el hecho ante la Policía (DIVINDAT).",
    ),
    "banking": (
        "Bloquee los indicadores listados en sus sistemas antifraude, banca por internet y "
        "banca móvil (dominios, enlaces, cuentas y números de teléfono).",
        "Revise transferencias recientes hacia las cuentas o CCI listadas y retenga las que "
        "correspondan según sus procedimientos.",
        "Avise a sus clientes por los canales oficiales si la campaña suplanta a su entidad.",
        "Reporte al centro cualquier coincidencia o nueva evidencia (confianza send).",
    ),
    "telecom": (
        "Bloquee en SMS y voz los números y enlaces listados; evalúe la suspensión de las "
        "líneas usadas en la campaña según la normativa vigente.",
        "Revise envíos masivos de SMS que contengan los dominios o enlaces listados.",
        "Reporte al centro cualquier coincidencia o nueva evidencia (confianza send).",
    ),
    "government": (
        "Bloquee en el perímetro (DNS, proxy, correo) los dominios, enlaces y direcciones IP "
        "listados.",
        "Alerte al personal si la campaña suplanta a una entidad del Estado (gob.pe).",
        "Reporte al centro cualquier incidente relacionado.",
    ),
    "justice": (
        "Los indicadores y eventos listados pueden apoyar investigaciones en curso; respete "
        "la marca TLP de cada evidencia al compartirlos.",
        "Solicite al centro el detalle de la evidencia que su clasificación TLP permita.",
    ),
    "center": ("Revise la correlación, la puntuación y la evidencia en la consola del centro.",),
}


@dataclass(frozen=True)
class Rendered:
    """The parts of a human-readable notification."""

    subject: str
    headline: str
    facts: tuple[tuple[str, str], ...]
    reasons: tuple[str, ...]
    indicators: tuple[tuple[str, str], ...]
    advice: tuple[str, ...]
    tlp: str


def defang(value: str) -> str:
    """Make a URL, domain or address unclickable: ``hxxps://example[.]com``."""
    return value.replace("http", "hxxp", 1).replace(".", "[.]") if value else value


def _indicator_lines(alert: Mapping[str, Any], audience: str) -> tuple[tuple[str, str], ...]:
    rows: list[tuple[str, str]] = []
    for indicator in alert.get("indicators") or ():
        kind = str(indicator.get("kind", ""))
        if audience == "public" and kind not in PUBLIC_KINDS:
            continue
        value = str(indicator.get("value", ""))
        shown = defang(value) if kind in ("url", "domain", "email", "ipv4", "ipv6") else value
        rows.append((KIND.get(kind, kind), shown))
    limit = MAX_PUBLIC_INDICATORS if audience == "public" else MAX_INDICATORS_SHOWN
    return tuple(rows[:limit])


def render(gated: GatedAlert, subscriber: Subscriber) -> Rendered:
    """The Spanish text of one notification for this subscriber."""
    alert = gated.alert
    severity = SEVERITY.get(str(alert.get("severity")), str(alert.get("severity")))
    transition = TRANSITION.get(str(alert.get("transition")), str(alert.get("transition")))
    levels = [str(e.get("tlp")) for e in alert.get("evidence") or ()]
    tlp = max(levels, key=tlp_rank, default="clear").upper()
    title = str(alert.get("title") or "Alerta")
    classification = alert.get("classification") or {}
    facts = [
        ("Severidad", severity),
        ("Estado", transition),
        (
            "Clasificación",
            " / ".join(str(classification[k]) for k in ("class", "type") if classification.get(k))
            or "sin clasificar",
        ),
        ("Sectores afectados", ", ".join(map(str, alert.get("sectors") or ())) or "—"),
        ("Eventos", str(len(alert.get("evidence") or ()))),
        ("Primera vez", str(alert.get("first_seen", "—"))),
        ("Última vez", str(alert.get("last_seen", "—"))),
        ("Alerta", f"{alert.get('alert_id')} (versión {alert.get('version')})"),
    ]
    if subscriber.audience == "public":
        facts = facts[:3]
    reasons = tuple(
        f"{r.get('detail') or r.get('rule')} (+{r.get('points')})"
        for r in alert.get("reasons") or ()
    )
    return Rendered(
        subject=f"[Confianza][TLP:{tlp}] Alerta {severity} ({transition}): {title}",
        headline=title,
        facts=tuple(facts),
        reasons=reasons,
        indicators=_indicator_lines(alert, subscriber.audience),
        advice=ADVICE.get(subscriber.audience, ()),
        tlp=tlp,
    )
