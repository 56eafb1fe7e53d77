"""The simulated partners: the banks, telecom operators and agencies of the Peruvian roster.

The ids, sectors and names are those of ``deploy/partners.yaml`` (the deployment's roster);
this module adds what the simulator needs to make their reports look like theirs: the brand
customers know, the official domain that phishing imitates, and a bank's clearing-house code
(the first three digits of its CCIs). ``ROSTER`` is interleaved by sector, so the first N
partners always span as many sectors as N allows (2 partners: a bank and a telecom).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimPartner:
    """One reporting organization as the simulator plays it."""

    id: str
    sector: str
    name: str
    brand: str
    official_domain: str
    bank_code: str | None = None


ROSTER: tuple[SimPartner, ...] = (
    SimPartner("bcp", "banking", "Banco de Crédito del Perú", "BCP", "viabcp.com", "002"),
    SimPartner("claro", "telecom", "Claro Perú", "Claro", "claro.com.pe"),
    SimPartner(
        "pnp-divindat",
        "justice",
        "Policía Nacional del Perú, División de Investigación de Delitos de Alta Tecnología",
        "PNP",
        "policia.gob.pe",
    ),
    SimPartner("interbank", "banking", "Interbank", "Interbank", "interbank.pe", "003"),
    SimPartner(
        "movistar", "telecom", "Movistar (Telefónica del Perú)", "Movistar", "movistar.com.pe"
    ),
    SimPartner("indecopi", "government", "INDECOPI", "Indecopi", "indecopi.gob.pe"),
    SimPartner("bbva", "banking", "BBVA Perú", "BBVA", "bbva.pe", "011"),
    SimPartner("entel", "telecom", "Entel Perú", "Entel", "entel.pe"),
    SimPartner(
        "fiscalia-ciberdelincuencia",
        "justice",
        "Ministerio Público, Fiscalía Especializada en Ciberdelincuencia",
        "Fiscalía",
        "mpfn.gob.pe",
    ),
    SimPartner(
        "scotiabank", "banking", "Scotiabank Perú", "Scotiabank", "scotiabank.com.pe", "009"
    ),
    SimPartner("bitel", "telecom", "Bitel (Viettel Perú)", "Bitel", "bitel.com.pe"),
    SimPartner("osiptel", "government", "OSIPTEL", "Osiptel", "osiptel.gob.pe"),
    SimPartner(
        "banbif",
        "banking",
        "Banco Interamericano de Finanzas (BanBif)",
        "BanBif",
        "banbif.com.pe",
        "038",
    ),
    SimPartner(
        "pcm-cnsd", "government", "PCM, Centro Nacional de Seguridad Digital", "CNSD", "cnsd.gob.pe"
    ),
)
BANKS = tuple(p for p in ROSTER if p.sector == "banking")


def first_partners(count: int) -> tuple[SimPartner, ...]:
    """The first ``count`` partners of the interleaved roster (2 to 14)."""
    if not 2 <= count <= len(ROSTER):
        raise ValueError(f"--partners must be between 2 and {len(ROSTER)}, not {count}")
    return ROSTER[:count]
