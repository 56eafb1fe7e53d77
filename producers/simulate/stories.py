"""What a simulated report says: classification, asset, title and description, by incident
kind and by the reporter's sector, in the Spanish partners write.

The same campaign reads differently from each sector -- a bank reports the phishing site, a
telecom the SMS that carried it, the police the victim's complaint -- so correlation has to
work across classifications, as it must with real reports.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

CITIES = ("Lima", "Arequipa", "Trujillo", "Chiclayo", "Piura", "Cusco", "Huancayo", "Iquitos")


@dataclass(frozen=True)
class Story:
    """The text and classification of one report."""

    rsit_class: str
    rsit_type: str
    asset_type: str
    asset_name: str
    title: str
    description: str
    severity: str


def campaign_story(kind: str, sector: str, brand: str, rng: random.Random) -> Story:
    """How a reporter of ``sector`` describes its part of a campaign of ``kind``."""
    city, victims = rng.choice(CITIES), rng.randrange(3, 400)
    if kind == "phishing":
        target = "el Estado (gob.pe)" if brand == "gob.pe" else brand
        if sector == "telecom":
            return Story(
                "abusive-content",
                "spam",
                "phone-line",
                "Red móvil",
                f"SMS masivos con enlace que suplanta a {target}",
                f"Se detectaron {victims * 40} SMS desde líneas prepago con un enlace a "
                f"un sitio que imita a {target}; se bloquearon los remitentes.",
                "medium",
            )
        if sector == "justice":
            return Story(
                "fraud",
                "phishing",
                "customer-account",
                "Denuncias de ciudadanos",
                f"Denuncias por robo de claves en sitio falso de {target}",
                f"{victims} denuncias en {city}: las víctimas ingresaron sus datos en "
                f"un sitio que suplanta a {target} y luego perdieron dinero.",
                "high",
            )
        return Story(
            "fraud",
            "phishing",
            "brand",
            target,
            f"Sitio de phishing que suplanta a {target}",
            f"Sitio que copia el acceso de {target}, difundido por SMS y anuncios; "
            f"{victims} clientes afectados en {city}.",
            "high",
        )
    if kind == "smishing":
        if sector in ("telecom", "government"):
            return Story(
                "abusive-content",
                "spam",
                "phone-line",
                "Mensajería SMS",
                f"Smishing con falso premio de {brand}",
                f"Campaña de SMS que ofrece un premio de {brand}; {victims * 25} "
                f"mensajes enviados a usuarios de {city}.",
                "medium",
            )
        return Story(
            "fraud",
            "phishing",
            "customer-account",
            "Clientes",
            f"Clientes engañados por SMS de falso premio de {brand}",
            f"{victims} clientes recibieron SMS con un enlace de premio de {brand} y "
            "entregaron datos de su tarjeta.",
            "high",
        )
    if kind == "sim-swap":
        if sector == "telecom":
            return Story(
                "fraud",
                "masquerade",
                "phone-line",
                "Líneas móviles",
                "Duplicados de SIM solicitados con identidad suplantada",
                f"{victims % 40 + 2} duplicados de chip en tiendas de {city} con DNI "
                "adulterado; las líneas se usaron para recibir claves de banca.",
                "high",
            )
        if sector == "banking":
            return Story(
                "intrusions",
                "unprivileged-account-compromise",
                "customer-account",
                "Banca móvil",
                "Tomas de cuenta tras cambio de SIM de los clientes",
                f"{victims % 40 + 2} clientes perdieron el control de su línea y luego "
                "se hicieron transferencias a cuentas de terceros.",
                "critical",
            )
        return Story(
            "fraud",
            "masquerade",
            "customer-account",
            "Denuncias",
            "Denuncias por fraude con duplicado de SIM",
            f"Denuncias en {city} de víctimas cuyo chip fue duplicado y sus cuentas vaciadas.",
            "high",
        )
    if kind == "mule-accounts":
        if sector == "banking":
            return Story(
                "fraud",
                "phishing",
                "payment-service",
                "Transferencias interbancarias",
                "Cuentas receptoras de fondos de fraude",
                f"Transferencias de {victims} clientes defraudados terminan en estas "
                "cuentas y billeteras; se solicitó su bloqueo.",
                "high",
            )
        return Story(
            "fraud",
            "masquerade",
            "customer-account",
            "Investigación",
            "Cuentas de 'muleros' identificadas en investigación",
            f"La investigación en {city} identifica cuentas y números Yape usados "
            "para mover dinero de estafas.",
            "high",
        )
    # malware
    if sector == "banking":
        return Story(
            "malicious-code",
            "infected-system",
            "mobile-application",
            "Banca móvil",
            f"Troyano bancario en celulares de clientes ({brand})",
            f"APK falsa de '{brand}' instalada por {victims} clientes captura SMS y "
            "claves; se observaron conexiones a su servidor de control.",
            "critical",
        )
    return Story(
        "malicious-code",
        "malware-distribution",
        "endpoint",
        "Usuarios",
        f"Distribución de APK maliciosa que suplanta a {brand}",
        f"Enlaces que descargan una APK falsa de {brand}, enviados por WhatsApp y SMS en {city}.",
        "high",
    )


NOISE_KINDS = (
    "scanner",
    "brute-force",
    "ddos",
    "phishing",
    "spam",
    "infected",
    "account",
    "data-leak",
    "vulnerable",
    "outage",
    "scam-call",
)


def noise_story(kind: str, brand: str, rng: random.Random) -> Story:
    """An ordinary, unrelated incident of ``kind`` at a partner whose brand is ``brand``."""
    city, count = rng.choice(CITIES), rng.randrange(2, 5000)
    stories = {
        "scanner": (
            "information-gathering",
            "scanner",
            "network",
            "Perímetro",
            "Escaneo de puertos al perímetro",
            f"{count} conexiones de escaneo a servicios expuestos.",
            "low",
        ),
        "brute-force": (
            "intrusion-attempts",
            "brute-force",
            "web-application",
            "Portal web",
            "Intentos de acceso por fuerza bruta",
            f"{count} intentos fallidos de inicio de sesión en el portal.",
            "medium",
        ),
        "ddos": (
            "availability",
            "ddos",
            "web-application",
            "Sitio principal",
            "Ataque de denegación de servicio distribuido",
            f"Tráfico de {count % 90 + 10} Gbps contra el sitio; mitigado.",
            "high",
        ),
        "phishing": (
            "fraud",
            "phishing",
            "brand",
            brand,
            f"Página falsa aislada que imita a {brand}",
            "Un cliente reportó una página falsa; fue dada de baja.",
            "medium",
        ),
        "spam": (
            "abusive-content",
            "spam",
            "email-system",
            "Correo corporativo",
            "Correos no deseados con adjuntos sospechosos",
            f"{count} correos bloqueados por el filtro antispam.",
            "low",
        ),
        "infected": (
            "malicious-code",
            "infected-system",
            "endpoint",
            "Estación de trabajo",
            "Equipo interno infectado",
            f"El antivirus detectó un archivo malicioso en un equipo de {city}.",
            "medium",
        ),
        "account": (
            "intrusions",
            "unprivileged-account-compromise",
            "customer-account",
            "Cuenta de usuario",
            "Acceso no autorizado a una cuenta",
            "Inicio de sesión desde una dirección inusual; se restableció la clave.",
            "medium",
        ),
        "data-leak": (
            "information-content-security",
            "data-leak",
            "server",
            "Base de datos",
            "Posible fuga de datos de contacto",
            f"Se ofrecen {count} registros en un foro; se investiga el origen.",
            "high",
        ),
        "vulnerable": (
            "vulnerable",
            "vulnerable-system",
            "server",
            "Servidor web",
            "Servidor con software desactualizado",
            "Un escaneo interno encontró un servidor sin parches.",
            "low",
        ),
        "outage": (
            "availability",
            "outage",
            "network",
            "Enlace de datos",
            f"Corte de servicio en {city}",
            "Falla eléctrica en un centro de datos.",
            "low",
        ),
        "scam-call": (
            "fraud",
            "masquerade",
            "customer-account",
            "Clientes",
            f"Llamadas de falsos asesores de {brand}",
            "Un cliente recibió llamadas pidiendo su clave de token.",
            "medium",
        ),
    }
    return Story(*stories[kind])
