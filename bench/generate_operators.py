"""Generate a CSV of operators as a national register would export it, for the benchmarks.

Deterministic for a given size and seed: names in several languages with their accents
(Lefèvre, Müller, Łódź, Ibáñez, Åkesson…), legal forms, cities, postcodes in each country's
format, phone numbers, e-mail and website addresses, coordinates for about half of them, valid
EORI numbers (with the national check digits where Comptoir checks them) for operators in the EU
and national identification numbers only for those outside it. One row in a thousand is broken
on purpose (a wrong check digit, no contact at all, a latitude out of range) so that the import
has something to reject.

    python bench/generate_operators.py OUT.csv [--count N] [--seed S] [--delimiter ';']
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Iterator
from pathlib import Path

COLUMNS = [
    "eori",
    "name",
    "country",
    "region",
    "city",
    "postcode",
    "address",
    "phone",
    "fax",
    "email",
    "website",
    "national_id",
    "latitude",
    "longitude",
]
DEFAULT_SEED = 20261123
#: Bump when the output changes, so that cached files are generated again.
VERSION = 1

# Per language: activities, family names, legal forms, street words, regions.
LANGUAGES: dict[str, dict[str, list[str]]] = {
    "fr": {
        "activity": [
            "Transports", "Établissements", "Société", "Entreprise", "Logistique", "Vins",
            "Fromagerie", "Brasserie", "Maison", "Comptoir", "Import-Export", "Négoce",
            "Conserverie", "Tonnellerie", "Pépinières", "Distillerie", "Messageries",
        ],
        "family": [
            "Dupont", "Lefèvre", "Mercier", "Girard", "Bénard", "Gauthier", "Noël", "Rousseau",
            "Garnier", "Chevalier", "François", "Lemaître", "Bélanger", "Côté", "Dubœuf",
            "Hébert", "Pérez", "Fabre", "Guérin", "Mégret", "Lacôte", "Aubépine", "Desprès",
            "Thévenin", "Brûlé", "Faÿ", "Laurent", "Moreau", "Bouchard", "Séverin",
        ],
        "form": ["SA", "SAS", "SARL", "SNC", "& Fils", "et Cie", "Frères", "SASU", "EURL"],
        "street": ["rue", "avenue", "boulevard", "chemin", "place", "quai", "allée"],
        "place": [
            "de la Gare", "du Port", "des Écoles", "Victor-Hugo", "de l'Église", "du Marché",
            "Saint-Éloi", "des Châtaigniers", "Pasteur", "du Général-de-Gaulle",
        ],
    },
    "de": {
        "activity": [
            "Spedition", "Logistik", "Handelsgesellschaft", "Großhandel", "Maschinenbau",
            "Brauerei", "Lebensmittel", "Holzhandel", "Chemie", "Kühltransporte", "Weinkellerei",
            "Stahlbau", "Außenhandel", "Möbelwerk",
        ],
        "family": [
            "Müller", "Schröder", "Weiß", "Groß", "Schäfer", "Köhler", "Jäger", "Bäcker", "Fuchs",
            "Krüger", "Lößner", "Hoffmann", "Schmitz", "Böhm", "Günther", "Strauß", "Wölfel",
            "Hölzl", "Dürr", "Schulze", "Weber", "Meißner", "Vogt", "Zöller",
        ],
        "form": ["GmbH", "GmbH & Co. KG", "AG", "KG", "e.K.", "OHG", "SE"],
        "street": ["Straße", "Weg", "Allee", "Platz", "Ring", "Gasse"],
        "place": ["Haupt", "Bahnhof", "Industrie", "Hafen", "Linden", "Mühlen", "Schloss"],
    },
    "it": {
        "activity": [
            "Trasporti", "Logistica", "Commerciale", "Vini", "Caseificio", "Importazioni",
            "Oleificio", "Spedizioni", "Industria Alimentare", "Ceramiche",
        ],
        "family": [
            "Rossi", "Bianchi", "Ferrari", "Esposito", "Ricci", "Mazzà", "Niccolò", "D'Angelo",
            "Lucà", "Fontana", "Colombo", "Bernardi", "Santoro", "Galli", "Pellegrini", "Fabbri",
        ],
        "form": ["S.p.A.", "S.r.l.", "S.n.c.", "S.a.s."],
        "street": ["Via", "Viale", "Piazza", "Corso"],
        "place": ["Roma", "Garibaldi", "Mazzini", "Cavour", "dei Mille", "San Niccolò"],
    },
    "es": {
        "activity": [
            "Transportes", "Logística", "Importaciones", "Exportaciones", "Vinos", "Aceites",
            "Conservas", "Frutas", "Distribuciones", "Bodegas",
        ],
        "family": [
            "García", "Martínez", "López", "Sánchez", "Pérez", "Gómez", "Núñez", "Peña", "Muñoz",
            "Ibáñez", "Jiménez", "Álvarez", "Rodríguez", "Fernández", "Gutiérrez", "Ruiz",
        ],
        "form": ["S.L.", "S.A.", "S.L.U.", "S.Coop."],
        "street": ["Calle", "Avenida", "Paseo", "Plaza", "Camino"],
        "place": ["Mayor", "de la Constitución", "del Puerto", "de Andalucía", "San Martín"],
    },
    "pl": {
        "activity": [
            "Przedsiębiorstwo", "Transport", "Hurtownia", "Spedycja", "Handel", "Zakłady Mięsne",
            "Przetwórstwo", "Usługi Celne",
        ],
        "family": [
            "Kowalski", "Wiśniewski", "Wójcik", "Kamiński", "Lewandowski", "Zieliński",
            "Dąbrowski", "Kozłowski", "Jabłoński", "Król", "Łukasik", "Żak", "Ślęzak",
        ],
        "form": ["Sp. z o.o.", "S.A.", "Sp.j.", "Sp.k."],
        "street": ["ul.", "al.", "pl."],
        "place": ["Długa", "Piłsudskiego", "Źródlana", "Łąkowa", "Mickiewicza", "Świętojańska"],
    },
    "nl": {
        "activity": [
            "Transport", "Logistiek", "Handelsonderneming", "Bloemen", "Zuivel", "Expeditie",
            "Koelvervoer", "Groothandel",
        ],
        "family": [
            "de Vries", "van den Berg", "Jansen", "Bakker", "Visser", "Smit", "de Jong",
            "van Dijk", "Mulder", "de Boer", "Brouwer", "Dekker",
        ],
        "form": ["B.V.", "N.V.", "V.O.F.", "BV"],
        "street": ["straat", "weg", "laan", "kade", "plein"],
        "place": ["Haven", "Kerk", "Molen", "Stations", "Dorps"],
    },
    "pt": {
        "activity": ["Transportes", "Logística", "Vinhos", "Conservas", "Cortiças", "Têxteis"],
        "family": [
            "Gonçalves", "Conceição", "Simões", "Magalhães", "Araújo", "Figueiredo", "Guimarães",
            "Louçã", "Antão", "Brandão",
        ],
        "form": ["Lda.", "S.A.", "Unipessoal Lda."],
        "street": ["Rua", "Avenida", "Travessa", "Largo"],
        "place": ["da Liberdade", "do Comércio", "de São João", "dos Descobrimentos"],
    },
    "sv": {
        "activity": ["Frakt", "Logistik", "Trävaror", "Handel", "Åkeri", "Livsmedel", "Import"],
        "family": [
            "Åkesson", "Söderström", "Öberg", "Ängström", "Sjöberg", "Lindqvist", "Nyström",
            "Bäckström", "Löfgren", "Hägglund", "Jørgensen", "Sørensen", "Mäkinen", "Häkkinen",
        ],
        "form": ["AB", "A/S", "Oy", "AS", "ApS"],
        "street": ["gatan", "vägen", "gade", "katu"],
        "place": ["Storgatan", "Hamn", "Kyrko", "Skogs", "Strand"],
    },
    "cs": {
        "activity": ["Doprava", "Obchod", "Pivovar", "Sklárny", "Strojírny", "Spedice"],
        "family": ["Dvořák", "Novák", "Černý", "Procházka", "Kučera", "Růžička", "Šťastný"],
        "form": ["s.r.o.", "a.s.", "v.o.s."],
        "street": ["ulice", "náměstí", "třída"],
        "place": ["Husova", "Masarykova", "Nádražní", "Žižkova"],
    },
    "hu": {
        "activity": ["Szállítmányozási", "Kereskedelmi", "Logisztikai", "Borászati"],
        "family": ["Kovács", "Szabó", "Tóth", "Nagy", "Horváth", "Lőrincz", "Kiss", "Varga"],
        "form": ["Kft.", "Zrt.", "Bt.", "Nyrt."],
        "street": ["utca", "út", "tér"],
        "place": ["Kossuth", "Petőfi", "Rákóczi", "Széchenyi"],
    },
    "ro": {
        "activity": ["Transport", "Comerț", "Logistică", "Distribuție", "Vinuri"],
        "family": ["Popescu", "Ionescu", "Ștefănescu", "Răducanu", "Țurcanu", "Dumitrescu"],
        "form": ["S.R.L.", "S.A."],
        "street": ["Strada", "Bulevardul", "Calea"],
        "place": ["Unirii", "Victoriei", "Mihai Viteazu", "Ștefan cel Mare"],
    },
    "el": {
        "activity": ["Emporiki", "Metafores", "Logistiki", "Trofima", "Oinopoiia"],
        "family": ["Papadopoulos", "Georgiou", "Nikolaidis", "Oikonomou", "Karagiannis"],
        "form": ["A.E.", "E.P.E.", "I.K.E.", "O.E."],
        "street": ["Odos", "Leoforos"],
        "place": ["Ermou", "Athinas", "Egnatia", "Tsimiski"],
    },
    "en": {
        "activity": ["Freight", "Logistics", "Trading", "Foods", "Imports", "Shipping", "Timber"],
        "family": [
            "O'Brien", "Murphy", "Walsh", "Smith", "Taylor", "Brown", "Ó Súilleabháin",
            "MacCárthaigh", "Kelly", "Byrne",
        ],
        "form": ["Ltd", "Limited", "LLC", "Inc.", "PLC", "DAC"],
        "street": ["Street", "Road", "Lane", "Quay", "Avenue"],
        "place": ["Main", "Harbour", "Church", "Station", "Mill"],
    },
    "tr": {
        "activity": ["Lojistik", "Dış Ticaret", "Gıda", "Tekstil", "Nakliyat"],
        "family": ["Yılmaz", "Öztürk", "Şahin", "Çelik", "Doğan", "Güneş", "Aydın"],
        "form": ["A.Ş.", "Ltd. Şti."],
        "street": ["Caddesi", "Sokak", "Bulvarı"],
        "place": ["Atatürk", "İstiklal", "Cumhuriyet", "Gazi"],
    },
    "zh": {
        "activity": ["Trading", "Import & Export", "Logistics", "Textiles", "Electronics"],
        "family": ["Zhang", "Wang", "Li", "Liu", "Chen", "Yang", "Huang", "Zhao"],
        "form": ["Co., Ltd.", "Group Co., Ltd.", "Industrial Co., Ltd."],
        "street": ["Road", "Street", "Avenue"],
        "place": ["Nanjing", "Zhongshan", "Renmin", "Jiefang"],
    },
}  # fmt: skip

# country: (weight, language(s), regions and cities, postcode pattern, phone prefix, tld, EORI)
# Postcode patterns: 9 a digit, A a capital letter, others as they are.
COUNTRIES: dict[str, tuple[int, tuple[str, ...], dict[str, list[str]], str, str, str]] = {
    "FR": (14, ("fr",), {
        "Île-de-France": ["Paris", "Créteil", "Évry-Courcouronnes", "Saint-Denis"],
        "Auvergne-Rhône-Alpes": ["Lyon", "Saint-Étienne", "Grenoble", "Annecy"],
        "Provence-Alpes-Côte d'Azur": ["Marseille", "Nice", "Fréjus", "Aix-en-Provence"],
        "Hauts-de-France": ["Lille", "Dunkerque", "Calais", "Valenciennes"],
        "Bourgogne-Franche-Comté": ["Dijon", "Besançon", "Mâcon", "Beaune"],
        "Nouvelle-Aquitaine": ["Bordeaux", "Limoges", "Pessac", "Angoulême"],
        "Bretagne": ["Rennes", "Brest", "Saint-Malo", "Quimper"],
    }, "99999", "+33", "fr"),
    "DE": (18, ("de",), {
        "Bayern": ["München", "Nürnberg", "Würzburg", "Regensburg"],
        "Nordrhein-Westfalen": ["Köln", "Düsseldorf", "Münster", "Essen"],
        "Baden-Württemberg": ["Stuttgart", "Tübingen", "Mannheim", "Freiburg im Breisgau"],
        "Hamburg": ["Hamburg"],
        "Sachsen": ["Dresden", "Leipzig", "Görlitz", "Chemnitz"],
        "Niedersachsen": ["Hannover", "Göttingen", "Osnabrück", "Lüneburg"],
    }, "99999", "+49", "de"),
    "IT": (12, ("it",), {
        "Lombardia": ["Milano", "Bergamo", "Brescia", "Como"],
        "Veneto": ["Venezia", "Verona", "Padova", "Treviso"],
        "Emilia-Romagna": ["Bologna", "Modena", "Parma", "Forlì"],
        "Sicilia": ["Palermo", "Catania", "Messina", "Ragusa"],
    }, "99999", "+39", "it"),
    "ES": (9, ("es",), {
        "Andalucía": ["Sevilla", "Málaga", "Córdoba", "Cádiz", "Almería"],
        "Cataluña": ["Barcelona", "Girona", "Lleida", "Tarragona"],
        "Castilla y León": ["León", "Ávila", "Valladolid", "Segovia"],
        "Comunidad Valenciana": ["València", "Alicante", "Castellón de la Plana"],
    }, "99999", "+34", "es"),
    "NL": (7, ("nl",), {
        "Zuid-Holland": ["Rotterdam", "Den Haag", "Leiden", "Delft"],
        "Noord-Holland": ["Amsterdam", "Haarlem", "Alkmaar"],
        "Noord-Brabant": ["Eindhoven", "Tilburg", "'s-Hertogenbosch"],
    }, "9999 AA", "+31", "nl"),
    "BE": (5, ("nl", "fr"), {
        "Vlaanderen": ["Antwerpen", "Gent", "Brugge", "Leuven"],
        "Wallonie": ["Liège", "Namur", "Charleroi", "Mons"],
        "Bruxelles-Capitale": ["Bruxelles", "Anderlecht", "Schaerbeek"],
    }, "9999", "+32", "be"),
    "PL": (6, ("pl",), {
        "Mazowieckie": ["Warszawa", "Radom", "Płock"],
        "Łódzkie": ["Łódź", "Piotrków Trybunalski"],
        "Małopolskie": ["Kraków", "Tarnów", "Nowy Sącz"],
        "Śląskie": ["Katowice", "Gliwice", "Częstochowa"],
        "Pomorskie": ["Gdańsk", "Gdynia", "Słupsk"],
    }, "99-999", "+48", "pl"),
    "AT": (3, ("de",), {
        "Wien": ["Wien"], "Tirol": ["Innsbruck", "Kufstein"], "Steiermark": ["Graz", "Leoben"],
        "Oberösterreich": ["Linz", "Wels", "Steyr"],
    }, "9999", "+43", "at"),
    "PT": (3, ("pt",), {
        "Norte": ["Porto", "Braga", "Guimarães"], "Lisboa": ["Lisboa", "Sintra", "Amadora"],
        "Centro": ["Coimbra", "Aveiro", "Viseu"],
    }, "9999-999", "+351", "pt"),
    "SE": (3, ("sv",), {
        "Västra Götaland": ["Göteborg", "Borås", "Trollhättan"],
        "Skåne": ["Malmö", "Helsingborg", "Lund"], "Stockholm": ["Stockholm", "Södertälje"],
    }, "999 99", "+46", "se"),
    "DK": (2, ("sv",), {
        "Hovedstaden": ["København", "Hillerød"], "Midtjylland": ["Aarhus", "Århus", "Herning"],
    }, "9999", "+45", "dk"),
    "FI": (1, ("sv",), {
        "Uusimaa": ["Helsinki", "Espoo", "Vantaa"], "Pirkanmaa": ["Tampere", "Nokia"],
    }, "99999", "+358", "fi"),
    "CZ": (3, ("cs",), {
        "Praha": ["Praha"], "Jihomoravský kraj": ["Brno", "Znojmo"],
        "Plzeňský kraj": ["Plzeň", "Klatovy"],
    }, "999 99", "+420", "cz"),
    "HU": (2, ("hu",), {
        "Budapest": ["Budapest"], "Győr-Moson-Sopron": ["Győr", "Sopron"],
        "Csongrád-Csanád": ["Szeged", "Hódmezővásárhely"],
    }, "9999", "+36", "hu"),
    "RO": (2, ("ro",), {
        "București": ["București"], "Cluj": ["Cluj-Napoca", "Turda"],
        "Timiș": ["Timișoara", "Lugoj"], "Constanța": ["Constanța", "Mangalia"],
    }, "999999", "+40", "ro"),
    "GR": (2, ("el",), {
        "Attiki": ["Athina", "Peiraias"], "Kentriki Makedonia": ["Thessaloniki", "Serres"],
    }, "999 99", "+30", "gr"),
    "IE": (1, ("en",), {
        "Leinster": ["Dublin", "Kilkenny"], "Munster": ["Cork", "Limerick", "Tralee"],
    }, "A99 A9A9", "+353", "ie"),
    "LU": (1, ("fr", "de"), {
        "Luxembourg": ["Luxembourg", "Strassen"], "Esch-sur-Alzette": ["Esch-sur-Alzette"],
    }, "L-9999", "+352", "lu"),
    # Outside the EU: no EORI, their national identification number only.
    "CH": (2, ("de", "fr"), {
        "Zürich": ["Zürich", "Winterthur"], "Genève": ["Genève", "Carouge"],
        "Basel-Stadt": ["Basel"], "Ticino": ["Lugano", "Bellinzona"],
    }, "9999", "+41", "ch"),
    "NO": (1, ("sv",), {"Oslo": ["Oslo"], "Vestland": ["Bergen"], "Trøndelag": ["Trondheim"]},
           "9999", "+47", "no"),
    "GB": (2, ("en",), {
        "England": ["London", "Manchester", "Dover", "Felixstowe"], "Scotland": ["Glasgow"],
    }, "AA9 9AA", "+44", "co.uk"),
    "TR": (1, ("tr",), {"İstanbul": ["İstanbul"], "İzmir": ["İzmir"], "Bursa": ["Bursa"]},
           "99999", "+90", "com.tr"),
    "US": (1, ("en",), {"New Jersey": ["Newark"], "California": ["Long Beach", "Oakland"]},
           "99999", "+1", "com"),
    "CN": (1, ("zh",), {"Guangdong": ["Shenzhen", "Guangzhou"], "Zhejiang": ["Ningbo"]},
           "999999", "+86", "cn"),
}  # fmt: skip
NON_EU = frozenset({"CH", "NO", "GB", "TR", "US", "CN"})
# Rough centre (latitude, longitude) of each country, for coordinates.
CENTRES: dict[str, tuple[float, float]] = {
    "FR": (46.6, 2.4), "DE": (51.1, 10.4), "IT": (42.8, 12.6), "ES": (40.2, -3.6),
    "NL": (52.2, 5.5), "BE": (50.6, 4.6), "PL": (52.0, 19.4), "AT": (47.6, 14.1),
    "PT": (39.6, -8.0), "SE": (60.1, 15.6), "DK": (56.0, 9.5), "FI": (62.5, 25.7),
    "CZ": (49.8, 15.5), "HU": (47.2, 19.4), "RO": (45.9, 24.9), "GR": (39.1, 22.9),
    "IE": (53.2, -8.1), "LU": (49.8, 6.1), "CH": (46.8, 8.2), "NO": (61.0, 9.0),
    "GB": (53.0, -1.5), "TR": (39.0, 35.2), "US": (39.0, -98.0), "CN": (34.0, 108.0),
}  # fmt: skip


def _luhn_digit(number: str) -> str:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


class _Identifiers:
    """Unique numbers per country: a counter through a multiplicative permutation, so that
    numbers look scattered but never repeat."""

    PRIME = 7_919_317

    def __init__(self) -> None:
        self.counters: dict[str, int] = {}

    def _next(self, country: str, modulus: int) -> int:
        index = self.counters.get(country, 0)
        self.counters[country] = index + 1
        if index >= modulus:
            raise ValueError(f"too many operators for {country}")
        return (index * self.PRIME + 12_345) % modulus

    def eori(self, country: str) -> str:
        if country == "FR":
            base = f"{self._next(country, 10**8):08d}"
            return f"FR{base}{_luhn_digit(base)}"
        if country == "DE":
            return f"DE{self._next(country, 10**15):015d}"
        if country == "NL":
            return f"NL{self._next(country, 10**9):09d}"
        if country == "BE":
            base = self._next(country, 2 * 10**7 - 1) + 1  # 8 digits starting with 0 or 1
            return f"BE{base:08d}{97 - base % 97:02d}"
        if country == "LU":
            base = self._next(country, 10**6)
            return f"LU{base:06d}{base % 89:02d}"
        if country == "AT":
            return f"ATEOS{self._next(country, 10**10):010d}"
        if country == "ES":
            number = self._next(country, 10**8)
            return f"ES{'ABG'[number % 3]}{number:08d}"
        if country in ("IT", "PT"):
            return f"{country}{self._next(country, 10**11):011d}"
        return f"{country}{self._next(country, 10**10):010d}"

    def national(self, country: str) -> str:
        number = self._next(country, 10**9)
        if country == "CH":
            text = f"{number:09d}"
            return f"CHE-{text[:3]}.{text[3:6]}.{text[6:]}"
        if country == "US":
            return f"{number // 10**7 % 100:02d}-{number % 10**7:07d}"
        if country == "GB":
            return f"{number % 10**8:08d}"
        if country == "CN":
            return f"91{number:09d}MA{number % 10**5:05d}X"
        return f"{number:09d}" if country == "NO" else f"{number:010d}"


def _pattern(rng: random.Random, pattern: str) -> str:
    return "".join(
        str(rng.randrange(10))
        if char == "9"
        else chr(65 + rng.randrange(26))
        if char == "A"
        else char
        for char in pattern
    )


def _slug(text: str) -> str:
    import unicodedata

    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in plain if char.isascii() and (char.isalnum() or char == " "))
    return "-".join(plain.split())[:40].strip("-") or "operator"


def _name(rng: random.Random, words: dict[str, list[str]], city: str) -> str:
    activity = rng.choice(words["activity"])
    family = rng.choice(words["family"])
    form = rng.choice(words["form"])
    shape = rng.randrange(7)
    if shape == 0:
        return f"{activity} {family} {form}"
    if shape == 1:
        return f"{family} {activity} {form}"
    if shape == 2:
        return f"{activity} {family} & {rng.choice(words['family'])} {form}"
    if shape == 3:
        return f"{activity} {city} {form}"
    if shape == 4:
        return f"{family} {form}"
    if shape == 5:
        return f"{activity} {family}"
    return f"{family}-{rng.choice(words['family'])} {activity}"


def rows(count: int, seed: int = DEFAULT_SEED) -> Iterator[list[str]]:
    rng = random.Random(seed)  # noqa: S311 (test data, deterministic on purpose)
    codes = list(COUNTRIES)
    weights = [COUNTRIES[code][0] for code in codes]
    identifiers = _Identifiers()
    for index in range(count):
        country = rng.choices(codes, weights)[0]
        _weight, languages, regions, postcode, prefix, tld = COUNTRIES[country]
        words = LANGUAGES[rng.choice(languages)]
        region = rng.choice(list(regions))
        city = rng.choice(regions[region])
        name = _name(rng, words, city)
        if country in NON_EU:
            eori, national_id = "", identifiers.national(country)
        else:
            eori, national_id = identifiers.eori(country), ""
        street = (
            f"{rng.randrange(1, 240)} {rng.choice(words['street'])} {rng.choice(words['place'])}"
        )
        phone = (
            " ".join((prefix, str(rng.randrange(100, 999)), str(rng.randrange(100, 999))))
            + f" {rng.randrange(1000, 9999)}"
        )
        fax = "" if rng.random() < 0.8 else f"{prefix} {rng.randrange(10**8, 10**9)}"
        domain = f"{_slug(name)}.{tld}"
        email = f"{rng.choice(['contact', 'info', 'douane', 'export', 'office'])}@{domain}"
        website = f"https://www.{domain}" if rng.random() < 0.5 else ""
        if rng.random() < 0.3:
            phone = ""  # e-mail only
        latitude = longitude = ""
        if rng.random() < 0.5:
            centre = CENTRES[country]
            latitude = f"{centre[0] + rng.uniform(-2, 2):.6f}"
            longitude = f"{centre[1] + rng.uniform(-2, 2):.6f}"
        if index % 1000 == 999:  # broken on purpose
            flaw = rng.randrange(3)
            if flaw == 0 and eori:
                eori = eori[:-1] + str((int(eori[-1]) + 1) % 10) if country == "FR" else "GB1"
            elif flaw == 1:
                phone = fax = email = website = ""
            else:
                latitude, longitude = "95.5", "2.3"
        yield [
            eori,
            name,
            country,
            region,
            city,
            _pattern(rng, postcode),
            street,
            phone,
            fax,
            email,
            website,
            national_id,
            latitude,
            longitude,
        ]


def write(path: Path, count: int, *, seed: int = DEFAULT_SEED, delimiter: str = ";") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, delimiter=delimiter)
        writer.writerow(COLUMNS)
        writer.writerows(rows(count, seed))
    partial.replace(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--delimiter", default=";")
    args = parser.parse_args(argv)
    write(args.out, args.count, seed=args.seed, delimiter=args.delimiter)
    print(f"{args.count} operators written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
