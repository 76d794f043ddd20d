//! Hand-written fixtures of commission layouts in many languages, each read with no
//! flags (except `--where` where a file stacks rounds): headers written as the
//! commissions publish them (CZSO's documented open-data columns, PKW, ЦВК, CEC, TSE,
//! INE, the French and German results files), values invented.

use tallyscope::ingest::{self, Ingested, Mapping, Options};
use tallyscope::model::{Role, Special};

fn read(csv: &str) -> Ingested {
    ingest::load_bytes("fixture.csv", csv.as_bytes().to_vec(), &Options::default()).unwrap_or_else(|e| panic!("{e}"))
}
fn read_with(csv: &str, m: Mapping) -> Result<Ingested, tallyscope::Error> {
    ingest::load_bytes("fixture.csv", csv.as_bytes().to_vec(), &Options { mapping: m, ..Default::default() })
}
fn col(ing: &Ingested, used_as: &str) -> Vec<String> {
    ing.report.columns.iter().filter(|c| c.used_as == used_as).map(|c| c.name.clone()).collect()
}
fn roles(ing: &Ingested) -> Vec<&'static str> {
    Role::ALL.iter().filter(|r| ing.election.has(**r)).map(|r| r.key()).collect()
}

#[test]
fn czso_open_data_with_stacked_rounds() {
    // CZSO layout: OKRES, OBEC, OKRSEK (station within municipality), KOLO (round),
    // form flags, VOL_SEZNAM, VYD_OBALKY, ODEVZ_OBAL, PL_HL_CELK, HLASY_nn, KC_*.
    let csv = "OKRES,OBEC,OKRSEK,KOLO,TYP_FORM,OPRAVA,CHYBA,VOL_SEZNAM,VYD_OBALKY,ODEVZ_OBAL,PL_HL_CELK,KC_1,HLASY_01,HLASY_02,HLASY_03,KC_2\n\
3100,500011,1,1,0,0,0,812,540,539,533,1,210,200,123,1\n\
3100,500011,2,1,0,0,0,640,402,402,398,1,150,170,78,1\n\
3100,500020,1,1,0,0,0,950,611,610,606,1,300,200,106,1\n\
3100,500020,2,1,0,0,0,720,455,455,450,1,99,201,150,1\n\
3100,500011,1,2,0,0,0,812,500,500,497,1,260,237,0,1\n\
3100,500011,2,2,0,0,0,640,390,389,387,1,200,187,0,1\n\
3100,500020,1,2,0,0,0,950,600,600,596,1,310,286,0,1\n\
3100,500020,2,2,0,0,0,720,430,430,428,1,128,300,0,1\n";
    let all = read(csv);
    assert_eq!(all.election.candidates, ["HLASY_01", "HLASY_02", "HLASY_03"]);
    assert_eq!(roles(&all), ["registered", "issued", "in_boxes", "valid"]);
    assert_eq!(all.report.splits.len(), 1);
    assert_eq!(all.report.splits[0].values, vec![("1".to_string(), 4), ("2".to_string(), 4)]);
    let err = all.ensure_one_election().unwrap_err().to_string();
    assert!(err.contains("--where \"KOLO=1\"") && err.contains("--split-by"), "{err}");
    // Station numbers restart in every municipality: no duplicate within a round.
    let r1 = read_with(csv, Mapping { filters: vec!["KOLO=1".into()], ..Default::default() }).unwrap();
    assert_eq!(r1.election.len(), 4);
    assert_eq!(r1.report.rows_filtered, 4);
    assert!(r1.ensure_one_election().is_ok());
    assert_eq!(tallyscope::checks::run(&r1.election).count(tallyscope::checks::Rule::DuplicateId), 0);
    assert_eq!(r1.election.levels.iter().map(|l| l.column.as_str()).collect::<Vec<_>>(), ["OKRES", "OBEC"]);
    // A value that matches nothing lists what exists.
    let e = read_with(csv, Mapping { filters: vec!["KOLO=3".into()], ..Default::default() }).unwrap_err().to_string();
    assert!(e.contains("\"1\" (4 rows)") && e.contains("\"2\" (4 rows)"), "{e}");
}

#[test]
fn polish_pkw_with_postal_and_station_types() {
    let csv = "\"Symbol kontrolny\";\"Nr OKW\";\"Kod TERYT\";\"Numer obwodu\";\"Typ obszaru\";\"Typ obwodu\";\"Siedziba\";\"Gmina\";\"Powiat\";\"Województwo\";\"Komisje obwodowe otrzymały kart do głosowania\";\"Liczba wyborców uprawnionych do głosowania\";\"Nie wykorzystano kart do głosowania\";\"Liczba wyborców, którym wydano karty do głosowania\";\"Liczba wyborców, którym wysłano pakiety wyborcze\";\"Liczba kart wyjętych z urny\";\"W tym liczba kart wyjętych z kopert na kartę do głosowania\";\"Liczba kart nieważnych\";\"Liczba kart ważnych\";\"Liczba głosów nieważnych\";\"Liczba głosów ważnych oddanych łącznie na wszystkich kandydatów\";\"Anna NOWAK\";\"Jan KOWALSKI\"\n\
\"a1\";1;\"020101\";1;\"miasto\";\"stały\";\"Szkoła\";\"m. Aaa\";\"aaa\";\"dolnośląskie\";1000;1100;410;590;10;600;10;0;600;5;595;300;295\n\
\"a2\";1;\"020101\";2;\"miasto\";\"zakład leczniczy\";\"Szpital\";\"m. Aaa\";\"aaa\";\"dolnośląskie\";100;80;20;80;0;80;0;0;80;1;79;40;39\n\
\"a3\";1;\"020102\";1;\"wieś\";\"stały\";\"Szkoła\";\"gm. Bbb\";\"aaa\";\"dolnośląskie\";900;950;350;550;0;550;0;1;549;3;546;246;300\n\
\"a4\";\"\";\"\";7;\"zagranica\";\"zagranica\";\"Ambasada\";\"\";\"\";\"\";\"-\";\"-\";\"-\";\"-\";\"-\";\"-\";\"-\";\"-\";\"-\";\"-\";\"-\";\"-\";\"-\"\n";
    let ing = read(csv);
    let e = &ing.election;
    assert_eq!(e.candidates, ["Anna NOWAK", "Jan KOWALSKI"]);
    assert_eq!(e.get(Role::Issued).unwrap(), [600, 80, 550]);
    assert_eq!(e.issued_postal.as_deref().unwrap(), [10, 0, 0]);
    assert_eq!(e.get(Role::Invalid).unwrap(), [5, 1, 4]);
    assert_eq!(ing.report.rows_unpublished, 1);
    assert_eq!(e.special, vec![None, Some(Special::Institution), None]);
    let rep = tallyscope::checks::run(e);
    assert!(rep.violations.is_empty(), "{:?}", rep.violations);
    assert!(col(&ing, "ignored").contains(&"Kod TERYT".to_string()));
}

#[test]
fn ukrainian_cvk_protocol() {
    let csv = "Округ,Дільниця,\"Кількість виборців, внесених до списку виборців на виборчій дільниці\",\"Кількість виборчих бюлетенів, отриманих дільничною виборчою комісією\",\"Кількість невикористаних виборчих бюлетенів\",\"Кількість виборців, які отримали виборчі бюлетені\",\"Кількість виборців, які взяли участь у голосуванні\",\"Кількість виборчих бюлетенів, визнаних недійсними\",Петренко Олег,Коваленко Ірина\n\
11,510001,1200,1100,400,700,698,8,400,290\n\
11,510002,900,850,310,540,540,5,300,235\n\
12,510001,1000,950,300,650,650,10,340,300\n";
    let ing = read(csv);
    assert_eq!(roles(&ing), ["registered", "received", "issued", "cancelled", "in_boxes", "invalid"]);
    assert_eq!(ing.election.candidates, ["Петренко Олег", "Коваленко Ірина"]);
    assert_eq!(ing.election.levels[0].column, "Округ");
    assert_eq!(col(&ing, "station"), ["Дільниця"]);
}

#[test]
fn russian_2020_vote_wording() {
    let csv = "region,tik,uik,\"Число участников голосования, включенных в список участников голосования\",\"Число бюллетеней, выданных участникам голосования\",\"Число бюллетеней, содержащихся в ящиках для голосования\",\"Число недействительных бюллетеней\",ДА,НЕТ\n\
Республика Адыгея,1 Адыгейская,1,1000,700,700,5,500,195\n\
Республика Адыгея,1 Адыгейская,2,900,600,599,4,400,195\n";
    let ing = read(csv);
    assert_eq!(roles(&ing), ["registered", "issued", "in_boxes", "invalid"]);
    assert_eq!(ing.election.candidates, ["ДА", "НЕТ"]);
}

#[test]
fn georgian_cec_headers() {
    let csv = "region,district id,district name,უბანი,მომაგრებული უბანი,ერთიან სიაში ამომრჩეველთა რაოდენობა,სპეციალურ სიაში ამომრჩეველთა რაოდენობა,აქტივობა 12 საათი,არჩევნებში მონაწილეთა რაოდენობა,ბათილი ბიულეტენები,logic check,logic check,5,41\n\
,1,,1,,1000,10,300,600,10,,,200,390\n\
,1,,2,101,0,300,100,280,5,,,75,200\n\
,2,,1,,800,5,200,500,8,,,150,342\n";
    let ing = read(csv);
    let e = &ing.election;
    assert_eq!(e.candidates, ["5", "41"]);
    assert_eq!(e.get(Role::Registered).unwrap(), [1010, 300, 805]);
    assert_eq!(e.levels.len(), 1, "empty region / district name are not levels");
    assert_eq!(e.special[1], Some(Special::Designated));
    assert_eq!(tallyscope::checks::run(e).count(tallyscope::checks::Rule::DuplicateId), 0);
}

#[test]
fn english_uk_and_africa_variants() {
    let csv = ",Region,Constituency,Ward,Polling Station Code,Polling Station Name,Registered Voters,Ballots Issued,Rejected Ballots,Spoilt Ballots,Total Valid Votes,Turnout %,Kamau,Otieno,Wanjiru,NON_REP\n\
1,Coast,Mvita,Ward A,001,Primary School,800,500,5,2,495,62.5,200,150,145,0\n\
2,Coast,Mvita,Ward A,002,Health Centre,700,420,4,1,416,60.0,100,216,100,0\n\
3,Coast,Likoni,Ward B,001,Market,900,610,6,3,604,67.8,300,104,200,1\n";
    let ing = read(csv);
    assert_eq!(ing.election.candidates, ["Kamau", "Otieno", "Wanjiru"]);
    assert_eq!(roles(&ing), ["registered", "issued", "cancelled", "invalid", "valid"]);
    assert_eq!(ing.election.station[0], "001 Primary School");
    assert!(tallyscope::checks::run(&ing.election).violations.is_empty());
    assert_eq!(ing.election.levels.iter().map(|l| l.column.as_str()).collect::<Vec<_>>(), ["Region", "Constituency", "Ward"]);
}

#[test]
fn spanish_portuguese_french_german() {
    let es = "Provincia,Municipio,Mesa,Electores,Votantes,Votos nulos,Votos en blanco,Votos válidos,Partido A,Partido B\n\
Madrid,Alcalá,0001-A,800,600,5,10,585,300,275\n\
Madrid,Alcalá,0001-B,750,500,3,7,490,250,233\n";
    let ing = read(es);
    assert_eq!(roles(&ing), ["registered", "in_boxes", "invalid", "valid"]);
    assert_eq!(ing.election.candidates, ["Partido A", "Partido B"]);
    let pt = "UF,Município,Zona,Seção,Eleitores aptos,Comparecimento,Votos nulos,Votos brancos,Candidato 13,Candidato 17\n\
SP,São Paulo,1,101,400,320,10,5,150,155\n\
SP,São Paulo,1,102,380,300,8,4,140,148\n";
    let ing = read(pt);
    assert_eq!(roles(&ing), ["registered", "in_boxes", "invalid"]);
    assert_eq!(ing.election.candidates, ["Candidato 13", "Candidato 17"]);
    assert_eq!(col(&ing, "station"), ["Seção"]);
    let fr = "Code du département,Libellé du département,Code de la commune,Libellé de la commune,Code du b.vote,Inscrits,Votants,Blancs,Nuls,Exprimés,MACRON,LE PEN\n\
01,Ain,001,L'Abergement,0001,600,450,10,5,435,200,235\n\
01,Ain,002,L'Abergement-de-Varey,0001,200,150,3,2,145,60,85\n";
    let ing = read(fr);
    assert_eq!(roles(&ing), ["registered", "in_boxes", "invalid", "valid"]);
    assert_eq!(ing.election.candidates, ["MACRON", "LE PEN"]);
    let de = "Land,Wahlkreis,Gemeinde,Wahlbezirk,Wahlberechtigte,Wähler,Ungültige,Gültige,CDU,SPD,GRÜNE\n\
Bayern,201,München,0101,1200,900,10,890,300,290,300\n\
Bayern,201,München,0102,1100,800,8,792,250,242,300\n";
    let ing = read(de);
    assert_eq!(roles(&ing), ["registered", "in_boxes", "invalid", "valid"]);
    assert_eq!(ing.election.candidates, ["CDU", "SPD", "GRÜNE"]);
    assert_eq!(ing.election.levels.len(), 3);
}

#[test]
fn long_file_with_a_composite_key_and_a_where_in_lower_case() {
    let csv = "county,precinct,district,office,party,candidate,votes\n\
Alameda,100,,President,DEM,Clinton,300\n\
Alameda,100,,President,REP,Trump,120\n\
Alameda,100,,Senate,DEM,Harris,280\n\
Alameda,101,,President,DEM,Clinton,250\n\
Alameda,101,,President,REP,Trump,140\n\
Butte,100,,President,DEM,Clinton,90\n\
Butte,100,,President,REP,Trump,200\n";
    // Read as wide: one count column and text columns that name candidates: the hint.
    let wide = read(csv);
    let hint = format!("{:?}", wide.report.columns);
    assert_eq!(wide.election.candidates, ["votes"], "{hint}");
    let try_long = tallyscope::cli::inspect::looks_long(&wide).expect("a long file read as wide is noticed");
    assert!(
        try_long.contains("--long --candidate-column \"candidate\" --votes-column \"votes\" --station \"county,precinct\" --where \"office=President\""),
        "{try_long}"
    );
    let mut m = Mapping::default();
    m.long = Some(tallyscope::ingest::mapping::LongSpec {
        station: vec!["county".into(), "precinct".into()],
        candidate: Some("candidate".into()),
        votes: Some("votes".into()),
        filters: vec!["office=president".into()],
    });
    let ing = ingest::load_bytes("fixture.csv", csv.as_bytes().to_vec(), &Options { mapping: m, long: true, ..Default::default() }).unwrap();
    assert_eq!(ing.election.len(), 3, "Alameda 100, Alameda 101, Butte 100");
    assert_eq!(ing.election.candidates, ["Clinton", "Trump"]);
    assert!(ing.report.notes.iter().any(|n| n.contains("differs only in case")), "{:?}", ing.report.notes);
    assert_eq!(ing.report.rows_filtered, 1);
}

#[test]
fn missing_data_tokens_and_partial_rows() {
    let csv = "region,station,registered,issued,valid,invalid,A,B,Note\n\
R1,1,1000,600,590,10,300,290,\n\
R1,2,900,NA,540,10,300,240,\n\
R1,3,800,–,490,10,250,240,\n\
R1,4,-,-,-,-,-,-,\n\
R2,1,700,400,n/a,5,200,,\n";
    let ing = read(csv);
    let e = &ing.election;
    assert_eq!(e.len(), 4);
    assert_eq!(ing.report.rows_unpublished, 1);
    assert_eq!(ing.report.partial_stations, 3);
    assert!(e.is_missing(1, Role::Issued) && e.is_missing(2, Role::Issued) && e.is_missing(3, Role::Valid));
    assert_eq!(e.special[0], None);
    assert_eq!(e.special[1], Some(Special::Partial));
    assert_eq!(ing.report.empty_votes_as_zero, 1);
    assert!(ing.report.columns.iter().any(|c| c.name == "Note" && c.used_as == "ignored") || ing.report.dropped_columns.iter().any(|d| d.contains("Note")));
    // Checks skip the rules that need the missing line: no false violation.
    let rep = tallyscope::checks::run(e);
    assert!(rep.violations.is_empty(), "{:?}", rep.violations);
}

#[test]
fn codes_indexes_shares_and_flags_are_never_candidates() {
    // An unnamed row index, a zero-padded level code, a column of shares, a flag after
    // the protocol lines and a code that rises with the rows: none is a candidate.
    let mut csv = String::from(",Dist_code,Muni,Precinct,Registered,Quota,Cand A,Cand B,Cand C,Valid,Reported,Serial\n");
    for i in 0..40u32 {
        let dist = 1 + i / 10;
        let a = 100 + (i * 37) % 90;
        let b = 80 + (i * 53) % 70;
        let c = (i * 7) % 30;
        let valid = a + b + c;
        csv.push_str(&format!(
            "{},{:03},M{},{},{},{:.2},{a},{b},{c},{valid},{},{}\n",
            i + 1,
            dist,
            dist,
            1 + i % 10,
            valid * 2,
            100.0 * a as f64 / valid as f64,
            (i % 3 == 0) as u8,
            dist * 100
        ));
    }
    let ing = read(&csv);
    assert_eq!(ing.election.candidates, ["Cand A", "Cand B", "Cand C"], "{:#?}", ing.report.columns);
    let why = |name: &str| ing.report.columns.iter().find(|c| c.name == name).unwrap().how.clone();
    assert!(why("column 1").contains("row numbers"), "{}", why("column 1"));
    assert!(why("Quota").contains("share"), "{}", why("Quota"));
    assert!(why("Reported").contains("flag"), "{}", why("Reported"));
    assert!(why("Serial").contains("code"), "{}", why("Serial"));
}
