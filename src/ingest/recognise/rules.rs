//! The recognition rules as data: one table per kind of column, each row a rule a
//! reader can audit. Headers are matched after [`super::normalise`]: lower case,
//! Latin diacritics folded (`ł`→`l`, `č`→`c`, `é`→`e`), `ё`→`е`, punctuation and
//! underscores turned into spaces ("Reg.Voters" → `reg voters`, "HLASY_01" →
//! `hlasy 01`).
//!
//! **Pattern language.** A rule lists phrases; it fires when any phrase matches and
//! none of its `not` words occurs. A phrase is words separated by spaces, all of which
//! must occur in the header (in any order); `stem*` matches any word starting with
//! `stem`, a bare word must be a whole word. Rules are tried top to bottom within a
//! table, and the tables in the order of [`ORDER`]: the first match decides.
//!
//! These are rules about how protocols are *worded* in each language (the noun for
//! voters, ballots, envelopes; the participle for issued, received, found in the
//! box), not a list of the files at hand, so that they carry over to files no test
//! has seen. A header no rule matches falls to the value checks of `ingest::profile`
//! (counts become candidates; codes, flags, shares and text do not).

use crate::model::Role;

/// What a matched rule makes of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// A protocol line of this role.
    Role(Role),
    /// A supplementary voter list (special, additional, mobile list): summed into
    /// registered voters with the main list.
    RegisteredExtra,
    /// Postal ballots sent out by the commission: summed into issued ballots, and kept
    /// apart for the ballot balance (they do not come from the ballots it received).
    IssuedPostal,
    /// "Ballots" with no participle: received if the values are round (ballots come in
    /// packs), otherwise ballots cast (found in the boxes). Decided on the values.
    Ballots,
    /// Blank ballots: a protocol line kept apart from the candidates.
    Blank,
    /// A protocol line recognised as such but not used (breakdowns "of which …",
    /// envelopes, proxy votes, certificates).
    OtherLine,
    /// Not a count at all: the reason.
    NotCount(&'static str),
    /// A column that splits the file into several elections (round, race).
    Split,
    /// The type of each station (ordinary, hospital, prison, ship, abroad, …).
    StationType,
    /// A column that marks special stations when it is filled in.
    SpecialFlag,
}

/// One rule: fires when any phrase matches and no `not` word occurs.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub lang: &'static str,
    pub any: &'static [&'static str],
    pub not: &'static [&'static str],
    pub then: Then,
}

const fn r(lang: &'static str, any: &'static [&'static str], not: &'static [&'static str], then: Then) -> Rule {
    Rule { lang, any, not, then }
}

use Then::*;

/// Columns that are never counts, and lines that are counts we do not use. Tried
/// first: "of which" breakdowns and time-of-day turnout must not be taken for the
/// line they break down.
pub const FIRST: &[Rule] = &[
    // Breakdowns of another line: "of which …", "W tym …", "в том числе", "z toho".
    r("en", &["of which", "thereof"], &[], OtherLine),
    r("pl", &["=w =tym"], &[], OtherLine),
    r("ru/uk", &["в том числе", "в т ч", "з них", "у тому числі"], &[], OtherLine),
    r("cs/sk", &["z toho", "=z =toho"], &[], OtherLine),
    r("de/fr/es", &["davon", "dont", "de los cuales", "de las cuales"], &[], OtherLine),
    // Links and checks.
    r("any", &["url", "link", "href", "ссылка", "www", "посилання"], &[], NotCount("link")),
    r("any", &["logic check*", "check*", "checksum*", "=kc", "kontrol*", "контрол*"], &["checked"], NotCount("a check or checksum column")),
    // Turnout at a time of day: "votes by 12", "აქტივობა 12 საათი", "явка на 10:00".
    r("ka", &["აქტივობა*"], &[], NotCount("turnout at a time of day")),
    // Flags and status columns.
    r("any", &["non rep*", "nonrep*", "not received", "nullified", "annulled", "oprava", "chyba", "=flag*", "status", "typ form", "error*", "pdf*", "created", "modified", "timestamp", "updated"], &[], NotCount("a flag, status or file-metadata column")),
    // Rounds and races stacked in one file.
    r("any", &["=kolo", "=round", "=tour", "=тур", "=vuelta", "=turno", "=runde", "=wahlgang", "=ტური", "=kolejka", "election round", "=race", "=office", "=contest", "election type", "typ volby", "=вибори", "=выборы"], &[], Split),
    // Station type; a filled-in "special precinct" column.
    r("any", &["typ* obwod*", "type* station*", "station* type*", "type* precinct*", "precinct* type*", "tipo* mesa*", "tipo* casilla*", "тип* участк*", "тип* дільниц*", "druh* okrsk*", "type* bureau*", "type* polling*", "=station =kind", "special type"], &[], StationType),
    r("any", &["special precinct*", "special station*", "მომაგრებულ* უბან*", "особ* участ*", "специальн* участ*", "spec* obwod*"], &[], SpecialFlag),
    // Area type (urban / rural): a description of the station, not a count.
    r("any", &["typ* obszar*", "urban*", "rural*", "area type", "tipo* area*", "тип* местност*", "typ* obce"], &[], NotCount("urban/rural type")),
    r("any", &["typ* gmin*", "=typ", "=type", "=tipo", "=тип", "category", "categoria", "kategori*"], &[], NotCount("a type or category (text)")),
    // Addresses and names of places.
    r("any", &["siedzib*", "address*", "adres*", "адрес*", "location", "venue", "lokal*", "direccion", "endereco", "adresse", "sidlo"], &[], NotCount("address or seat (text)")),
    r("any", &["date", "data wyborow", "fecha", "дата", "datum"], &[], NotCount("a date")),
];

/// Protocol lines, language by language. Order within a language: the specific
/// before the general (unused before used, invalid before valid, supplementary lists
/// before the main list).
pub const LINES: &[Rule] = &[
    // ---- Russian (CEC protocols; "Число …"; 2020 vote: "участников голосования").
    r("ru", &["бюллетен* неучтен*", "бюллетен* =не учтен*"], &[], Role(Role::Unaccounted)),
    r("ru", &["избирател* спис* включен*", "избирател* спис* внесен*", "участник* голосован* спис*", "зарегистрирован* избирател*"], &["бюллетен*"], Role(Role::Registered)),
    r("ru", &["недействительн*"], &[], Role(Role::Invalid)),
    r("ru", &["действительн*"], &[], Role(Role::Valid)),
    r("ru", &["бюллетен* получен*"], &[], Role(Role::Received)),
    r("ru", &["бюллетен* выдан*"], &[], Role(Role::Issued)),
    r("ru", &["бюллетен* погашен*"], &[], Role(Role::Cancelled)),
    r("ru", &["бюллетен* ящик*"], &[], Role(Role::InBoxes)),
    r("ru", &["бюллетен* утрачен*"], &[], Role(Role::Lost)),
    r("ru", &["=число"], &[], OtherLine),
    // ---- Ukrainian ("Кількість …"): бюлетень, скринька, недійсний.
    r("uk", &["виборц* спис*", "виборц* внесен*", "виборц* включен*"], &["бюлетен*", "отримал*", "участ*"], Role(Role::Registered)),
    r("uk", &["невикористан*"], &[], Role(Role::Cancelled)),
    r("uk", &["виборц* отримал*", "бюлетен* видан*"], &[], Role(Role::Issued)),
    r("uk", &["бюлетен* отриман*"], &[], Role(Role::Received)),
    r("uk", &["взял* участ*", "скриньк*"], &[], Role(Role::InBoxes)),
    r("uk", &["недійсн*"], &[], Role(Role::Invalid)),
    r("uk", &["дійсн*"], &[], Role(Role::Valid)),
    r("uk", &["втрачен*"], &[], Role(Role::Lost)),
    r("uk", &["=кількість"], &[], OtherLine),
    // ---- Kazakh.
    r("kk", &["сайлаушы* тізім*"], &[], Role(Role::Registered)),
    r("kk", &["бюллетен* берілген*"], &[], Role(Role::Issued)),
    r("kk", &["жарамсыз*"], &[], Role(Role::Invalid)),
    r("kk", &["жарамды*"], &[], Role(Role::Valid)),
    // ---- Polish (PKW): karty, koperty, urna; postal packages count as issued.
    r("pl", &["pakiet*"], &[], IssuedPostal),
    r("pl", &["koper*", "pelnomocnik*", "zaswiadczeni*"], &[], OtherLine),
    r("pl", &["uprawnion*"], &[], Role(Role::Registered)),
    r("pl", &["otrzymal* kart*", "otrzyman* kart*"], &[], Role(Role::Received)),
    r("pl", &["=nie wykorzystan*", "niewykorzystan*"], &[], Role(Role::Cancelled)),
    r("pl", &["wydan* kart*", "wydano"], &[], Role(Role::Issued)),
    r("pl", &["urn*"], &[], Role(Role::InBoxes)),
    r("pl", &["kart* niewazn*", "glos* niewazn*"], &[], Role(Role::Invalid)),
    r("pl", &["kart* wazn*"], &[], OtherLine),
    r("pl", &["glos* wazn*"], &[], Role(Role::Valid)),
    // ---- Czech / Slovak (CZSO/ŠÚSR): obálky are the ballots' envelopes.
    r("cs/sk", &["vol seznam", "volic* seznam*", "volic* zapsan*", "volic* zozn*", "volic* zapisan*"], &[], Role(Role::Registered)),
    r("cs/sk", &["vyd obal*", "vydan* obal*", "vydan* obalok"], &[], Role(Role::Issued)),
    r("cs/sk", &["odevz obal*", "odevzdan* obal*", "odovzdan* obal*", "odevz obalky"], &[], Role(Role::InBoxes)),
    r("cs/sk", &["neplatn*"], &[], Role(Role::Invalid)),
    r("cs/sk", &["pl hl*", "platn* hlas*"], &[], Role(Role::Valid)),
    // ---- Georgian (CEC): ამომრჩეველი voter, სია list, ბათილი void.
    r("ka", &["სპეციალურ* ამომრჩევ*"], &[], RegisteredExtra),
    r("ka", &["ამომრჩევ* სია*", "ამომრჩევ* სიაში"], &[], Role(Role::Registered)),
    r("ka", &["მონაწილე*"], &[], Role(Role::Issued)),
    r("ka", &["ბათილ*"], &[], Role(Role::Invalid)),
    r("ka", &["ნამდვილ*"], &[], Role(Role::Valid)),
    // ---- English (UK, US, Africa, Georgia's English headers, abbreviations).
    r("en", &["special voter*", "supplementary list*", "additional list*", "special list*"], &[], RegisteredExtra),
    r("en", &["registered*", "electorate", "eligible", "reg voter*", "=reg", "possible voter*", "enrolled", "=voters", "voters on *", "on roll"], &["ballot*", "vote"], Role(Role::Registered)),
    r("en", &["postal* sent", "postal* issued", "postal ballot* issued"], &[], IssuedPostal),
    r("en", &["unaccounted"], &[], Role(Role::Unaccounted)),
    r("en", &["received"], &[], Role(Role::Received)),
    r("en", &["cancelled", "canceled", "unused", "unissued", "spoilt", "spoiled", "destroyed"], &[], Role(Role::Cancelled)),
    r("en", &["issued", "signed for", "signatures"], &[], Role(Role::Issued)),
    r("en", &["invalid*", "rejected", "=void", "=null", "=inv", "=nulls"], &[], Role(Role::Invalid)),
    r("en", &["blank*"], &[], Blank),
    r("en", &["valid*", "=v =votes"], &[], Role(Role::Valid)),
    r("en", &["lost"], &[], Role(Role::Lost)),
    r("en", &["box", "boxes", "ballots cast", "votes cast", "=cast"], &["total"], Role(Role::InBoxes)),
    r("en", &["=ballots", "ballot papers", "num ballots", "number ballots"], &[], Ballots),
    // ---- Spanish / Portuguese.
    r("es/pt", &["electores", "inscritos", "habilitados", "lista nominal", "padron*", "eleitores", "eleitorado", "aptos"], &["votos"], Role(Role::Registered)),
    r("es/pt", &["boletas recibidas", "papeletas recibidas", "cedulas recibidas"], &[], Role(Role::Received)),
    r("es/pt", &["sobrantes", "inutilizad*"], &[], Role(Role::Cancelled)),
    r("es/pt", &["nulos", "nulas", "votos nulos"], &[], Role(Role::Invalid)),
    r("es/pt", &["blancos", "en blanco", "brancos"], &[], Blank),
    r("es/pt", &["validos", "votos validos"], &[], Role(Role::Valid)),
    r("es/pt", &["votos emitidos", "sufragios emitidos", "=emitidos", "votantes", "comparecimento", "comparecencia"], &["total"], Role(Role::InBoxes)),
    // ---- French.
    r("fr", &["inscrits"], &[], Role(Role::Registered)),
    r("fr", &["emargements"], &[], Role(Role::Issued)),
    r("fr", &["votants"], &[], Role(Role::InBoxes)),
    r("fr", &["=nuls"], &[], Role(Role::Invalid)),
    r("fr", &["blancs"], &[], Blank),
    r("fr", &["exprimes"], &[], Role(Role::Valid)),
    // ---- German.
    r("de", &["wahlberechtigt*"], &[], Role(Role::Registered)),
    r("de", &["ungultig*"], &[], Role(Role::Invalid)),
    r("de", &["gultig*"], &[], Role(Role::Valid)),
    r("de", &["=wahler", "=wahlende"], &[], Role(Role::InBoxes)),
];

/// Derived columns (totals, shares) and identifiers: never counts of their own.
pub const LAST: &[Rule] = &[
    r("any", &["total*", "=t =votes", "turnout", "явка", "percent*", "pct", "%", "итого", "всего", "razem", "suma", "celkem", "spolu", "frekwencj*", "ucast*", "porcentaje*", "participac*", "participation", "beteiligung", "wahlbeteiligung", "odsetek", "procent*", "відсот*", "процент*", "share", "ratio", "rate"], &[], NotCount("a derived total or percentage")),
    r("any", &["=id", "=code", "=codes", "=kod", "=код", "=no", "=nr", "=number", "=numer", "=номер", "=cislo", "=symbol*", "=teryt", "=key", "=index", "=uuid", "=guid", "=fid", "=objectid", "=ident*", "=s =n", "=row", "=level", "=уровень", "=lp"], &[], NotCount("an identifier or code")),
];

/// Words that decorate a level's or the station's name: "District code", "PS NAME",
/// "Dist_no_2016", "Numer obwodu". Stripped before the level tables are consulted;
/// a code word makes the column the level's code, a name word its name.
pub const CODE_WORDS: &[&str] = &["code", "codes", "kod", "код", "id", "no", "nr", "num", "number", "numer", "номер", "cislo", "n", "№", "nro", "num", "numero", "nummer", "key"];
pub const NAME_WORDS: &[&str] = &["name", "names", "nazwa", "nazev", "nom", "nombre", "nome", "название", "назва", "наименование", "სახელი", "label", "title", "string", "txt", "text"];

/// Hierarchy levels: rank (0 top), the name used in output, and the phrases (after
/// decoration words are stripped, the whole header must be one of them). Two different
/// levels of one rank in a file (Uganda: district and electoral area) are ordered by
/// their column order, the later one finer.
pub const LEVELS: &[(u8, &str, &[&str])] = &[
    (0, "region", &["region*", "регион*", "субъект*", "subject", "oblast*", "област*", "province*", "provincia*", "provincie", "state", "states", "wojewodztw*", "voivodeship*", "kraj", "kraje", "prefecture*", "wilaya*", "departamento*", "departement*", "estado*", "uf", "bundesland*", "land", "მხარე", "облыс*", "admin1", "region name"]),
    (10, "district", &["district*", "dist", "oik", "оик", "constituenc*", "const", "okrug*", "округ*", "powiat*", "okres*", "okw", "ea", "electoral area*", "electoral district*", "circunscripcion*", "circonscription*", "wahlkreis*", "ოლქ*", "county", "counties", "distrito*", "zona", "zone", "виборч* округ*", "избирательн* округ*"]),
    (20, "municipality", &["municipalit*", "commune*", "comuna*", "gmin*", "gmina", "obec", "obce", "obci", "municipio*", "municipi*", "gemeinde*", "tik", "тик", "commission", "territorial commission", "rayon*", "район*", "subcount*", "sub county", "scounty", "sbty", "city", "town", "lga", "local government*", "mun", "canton*", "громад*", "hromad*", "сельсовет*", "аймак*", "municipal*"]),
    (30, "ward", &["parish*", "par", "ward*", "village*", "locality", "localidad*", "recinto*", "sector*", "seccion*", "barrio*", "settlement*", "neighbo*", "wijk"]),
];

/// The station itself (its number or name within the lowest level).
pub const STATION: &[&str] = &["station*", "stn", "ps", "polling station*", "polling place*", "polling unit*", "precinct*", "uik", "уик", "участ*", "избирательн* участ*", "obwod*", "okrsek", "okrsk*", "mesa", "mesas", "casilla*", "secao", "secoes", "bureau*", "bureau de vote", "wahlbezirk*", "stimmbezirk*", "უბან*", "дільниц*", "виборч* дільниц*", "sectie", "sectia", "booth*", "stream", "uchastok"];

/// Kinds of special station, by words in a station-type value (or a region name, for
/// abroad); the ordinary kinds last, so that "general hospital" is a hospital. Stations of these kinds are set aside from the statistics by default and
/// counted: a small hospital station at 100% turnout is not evidence of fraud.
pub const STATION_KINDS: &[(Option<crate::model::Special>, &[&str])] = {
    use crate::model::Special::*;
    &[
        (Some(Abroad), &["zagranic*", "abroad", "overseas", "foreign", "зарубеж*", "за рубеж*", "за пределами", "закордон*", "extranjero", "exterior", "etranger", "ausland*", "zahranic*"]),
        (Some(Ship), &["statek", "statk*", "ship*", "vessel*", "судн*", "судов*", "buque*", "navire*", "schiff*", "lod*"]),
        (Some(Institution), &["szpital*", "leczn*", "hospital*", "больниц*", "лечебн*", "лікарн*", "nemocnic*", "hopital*", "krankenhaus*", "clinic*", "pomocy spolecznej", "care home*", "nursing*", "elderly", "престарел*", "інтернат*", "domov* duchod*", "residencia*", "altenheim*", "karny", "karnego", "areszt*", "prison*", "jail*", "detention*", "penitentiar*", "сизо", "тюрьм*", "исправительн*", "колони*", "ув'язнен*", "слідч* ізолятор*", "vazn*", "carcel*", "prision*", "penal*", "gefangnis*", "justizvollzug*", "military", "army", "barrack*", "воинск*", "військов*", "militar*", "wojsk*", "kaserne*", "dom* studenck*", "student*", "dormitor*", "общежит*", "гуртожит*", "sanatori*", "санатор*"]),
        (Some(Mobile), &["mobile", "temporary", "временн*", "тимчасов*", "movil", "itinerant*", "pop up"]),
        (None, &["staly", "stały", "ordinary", "regular", "normal", "permanent", "standard", "обычн*", "звичайн*", "stala", "ordinaria", "ordinario", "comun"]),
    ]
};

/// The order in which the tables are tried.
pub const ORDER: [&[Rule]; 3] = [FIRST, LINES, LAST];
