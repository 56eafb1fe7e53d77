"""Plain-text and HTML bodies of an alert email, from the rendered Spanish parts.

Every value is escaped in the HTML body: alert text is generated, indicator values come from
partners and are hostile until proven otherwise.
"""

from __future__ import annotations

from html import escape

from confianza.consumers.render import Rendered

FOOTER = (
    "Centro Nacional de Seguridad Digital — Confianza. Este mensaje está marcado TLP:{tlp}: "
    "compártalo solo según esa marca."
)


def text_body(r: Rendered) -> str:
    """The text/plain part."""
    lines = [r.headline, "=" * min(len(r.headline), 72), ""]
    lines += [f"{label}: {value}" for label, value in r.facts]
    if r.reasons:
        lines += ["", "Por qué se emite esta alerta:"]
        lines += [f"  - {reason}" for reason in r.reasons]
    if r.indicators:
        lines += ["", "Indicadores:"]
        lines += [f"  - {kind}: {value}" for kind, value in r.indicators]
    if r.advice:
        lines += ["", "Qué hacer:"]
        lines += [f"  - {advice}" for advice in r.advice]
    lines += ["", FOOTER.format(tlp=r.tlp)]
    return "\n".join(lines) + "\n"


def _list(title: str, items: list[str]) -> str:
    if not items:
        return ""
    body = "".join(f"<li>{item}</li>" for item in items)
    return f"<h3>{escape(title)}</h3><ul>{body}</ul>"


def html_body(r: Rendered) -> str:
    """The text/html part."""
    facts = "".join(
        f"<tr><th align='left'>{escape(label)}</th><td>{escape(value)}</td></tr>"
        for label, value in r.facts
    )
    return (
        "<!doctype html><html lang='es'><body>"
        f"<p><strong>TLP:{escape(r.tlp)}</strong></p>"
        f"<h2>{escape(r.headline)}</h2><table>{facts}</table>"
        + _list("Por qué se emite esta alerta", [escape(x) for x in r.reasons])
        + _list("Indicadores", [f"{escape(k)}: <code>{escape(v)}</code>" for k, v in r.indicators])
        + _list("Qué hacer", [escape(x) for x in r.advice])
        + f"<p><small>{escape(FOOTER.format(tlp=r.tlp))}</small></p></body></html>"
    )
