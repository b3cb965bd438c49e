"""Word lists for chat text, lower case. deduce's own lists (first names, places, common words)
come from deduce (see engine.py); these complement them."""

from __future__ import annotations

# Relation words after which a capitalised or known first name is a person ("mijn zus fatima").
RELATIONS = frozenset("""
vriend vriendin vriendje vriendinnetje vriendinnen vrienden man vrouw echtgenoot echtgenote partner ex
zus zusje zussen broer broertje broers moeder vader mama papa mam pap ma pa stiefvader stiefmoeder
stiefpapa stiefmama stiefbroer stiefzus halfbroer halfzus oom ome tante neef neefje nicht nichtje opa oma
buurman buurvrouw buurjongen buurmeisje buren dochter dochtertje zoon zoontje kind kindje baby collega
juf meester mentor leraar lerares docent coach trainer baas klasgenoot klasgenote schoonvader
schoonmoeder schoonzus zwager pleegvader pleegmoeder pleegbroer pleegzus kleinzoon kleindochter
jongen meisje vent vriendjes nichten neven cousin
""".split())
# Titles: a surname may follow ("mevrouw de Boer").
TITLES = frozenset("meneer mevrouw mevr mw dhr heer mr juf meester dokter dr agent".split())
INTRO = (("ik", "ben"), ("ik", "heet"), ("heet",), ("heette",), ("naam", "is"), ("genaamd",),
         ("noem", "me"), ("noem", "mij"), ("bijnaam", "is"), ("ik", "ben", "het"))
GREETINGS = frozenset("hoi hallo hey hee hi hai hoii hallootjes groetjes groeten gr grtjs grt liefs mvg doei "
                      "daag xx xxx".split())
# Verbs and possessives after which a lower-case first name is a person ("fatima zei", "julia haar").
NAME_FOLLOWERS = frozenset("""
zei zegt zeggen sloeg slaat schopt schopte duwt duwde dreigt dreigde heeft had is was wil wilde
vertelde vertelt kwam komt huilt huilde belt belde appt appte stuurt stuurde haar zijn z'n d'r zn dr
""".split())
INTERFIXES = frozenset("van de der den het 't ten ter te la le da di du el al bin ben ibn op in v.d. vd "
                       "ait aït ou abu bou".split())
# Surname particles that are no Dutch word: in lower case they start a surname on their own ("de
# familie el Amrani", "ait Said"), and a lower-case word after them is a surname too ("el amrani").
FOREIGN_PARTICLES = frozenset("el ait aït ibn abu bou".split())
# Particles a capitalised surname may start with ("El Amrani", "Van der Berg", "Ten Brink", "Ait
# Said"); "De" and "Van" alone are not enough at a sentence start ("De Buurman", "Van Mij").
CAPITAL_PARTICLES = frozenset("el al ait aït ou ibn abu bou bin ben ten ter".split())
# Particles inside or in front of a name: absorbed into the name span they touch ("Rachid al Hassan"
# is one name, not "[NAAM] al [NAAM]").
PARTICLES = frozenset("van de der den ten ter te el al bin ben ibn ait aït ou abu bou da di du le la del "
                      "dos das von".split())
# Words that are never a person, in any case; deduce's name lists contain some of them ("Can",
# "My", "Just" are first names there, and English openers start with them).
NOT_NAMES = frozenset("""
maandag dinsdag woensdag donderdag vrijdag zaterdag zondag weekend
januari februari maart april mei juni juli augustus september oktober november december
god allah jezus kerst kerstmis pasen ramadan suikerfeest offerfeest sinterklaas
marokkaans marokkaanse turks turkse nederlands nederlandse surinaams surinaamse pools poolse syrisch
syrische eritrees eritrese antilliaans antilliaanse belgisch belgische vlaams vlaamse engels engelse
frans franse duits duitse spaans arabisch moslim christen nederlander belg
dutch english polish german turkish moroccan indian french spanish arabic
zei niks moe zwanger ouwe bezorgd verdrietig eenzaam depressief blij sorry help hulp lieve sukkel
pastor mien mijnen ons onze mn m'n zn z'n dr d'r ff idk omg lol wtf pls aub ok oke oké hoor echt
ik jij je hij zij ze wij we jullie hun havo vwo vmbo mbo hbo groep klas school
i i'm i’m im my me you your he she his her we our they their it its the a an this that what when
where how why who is are was were be do does did have has had can could will would should not no
yes and or but if so just please hi hello hey thanks thank sorry find year years
""".split())
# Organisations: a span containing one of these is not a person ("Albert Heijn", "Veilig Thuis").
ORGANISATIONS = frozenset("""
veilig thuis kindertelefoon politie jeugdzorg ggd huisarts raad kinderbescherming rechtbank wijkteam
whatsapp instagram insta snapchat snap tiktok facebook youtube google telegram discord
heijn jumbo lidl aldi hema kruidvat action ikea mcdonalds mercedes
""".split())
# Countries and regions (deduce's place list has Dutch places only).
REGIONS = frozenset("""
nederland belgië belgie vlaanderen wallonië brussel holland brabant limburg friesland zeeland drenthe
den bosch randstad europa marokko turkije syrië syrie suriname curaçao curacao aruba polen poland
roemenië bulgarije duitsland frankrijk spanje engeland india pakistan afghanistan eritrea somalië
irak iran ghana nigeria china oekraïne oekraine rusland amerika
""".split())
# First names that are (mostly) ordinary Dutch or English words: never a name in lower case.
AMBIGUOUS_LOWER = frozenset("""
adel adem age alien an ate angel august bars blaas beren bin boy brain brand can carry chase constant
daily day deny desire dia dies done dot duke engel fake fan fee fine flip floor fox given guy hang
haring has heaven hero him hok hope jeep jersey jet job joke joy just justice kam kar kas ken kick
kik kin king kit lam lava lei lente lie lies lijntje line lion loan lok love lovely luck lucky
maatje mare marine marry mart math matje may mie mine mint moon mus my nine ninja ocean parel peer
pier pluk pol precious prince princess raaf ram ran rem river rover seven silver sin sing sky star
summer take tam tan tea tiger tin tiny tromp vital volken vrouwtje wang win wing will mark bill
rose roos grace faith merel
""".split())
BE_PLACES = frozenset("""
antwerpen gent brussel brugge leuven mechelen hasselt genk kortrijk oostende aalst sint-niklaas
roeselare turnhout berchem deurne borgerhout merksem hoboken wilrijk mortsel schoten brasschaat
lier dendermonde lokeren ninove geel mol herentals tienen vilvoorde halle zaventem dilbeek ieper
waregem tielt knokke-heist blankenberge beveren temse wetteren zele eeklo ronse oudenaarde tongeren
sint-truiden beringen lommel maasmechelen bilzen diest aarschot liège luik namur namen charleroi
bergen mons anderlecht schaerbeek elsene ixelles ukkel etterbeek molenbeek jette evere
""".split())

# "2009 en", "1000 km", "2020 ff": a year or amount with a word or unit is no postcode.
NOT_POSTCODE_WORDS = frozenset("""
en in op is om te al of er ze je we na nu zo ik uw ja de to at on an or be me my by up us no so he hé
ff ok xd pa ma ga
""".split())
NOT_POSTCODE_UNITS = frozenset("km kg cm mm ml dl cl gr mb gb kb uu pm am nr ca wk dg".split())
NOT_POSTCODE_LETTERS = NOT_POSTCODE_WORDS | NOT_POSTCODE_UNITS
