#!/usr/bin/env python3
"""Write the synthetic demo posts for voc-pipeline.

Every post text below was written by hand for this project (nothing is copied from any
dataset). The script is deterministic (fixed seed, standard library only) and writes:

* ``data/demo/posts.jsonl``  - the valid demo posts, then 6 deliberately malformed lines
* ``data/demo/labels.jsonl`` - the intended (gold) intent, sentiment and topic of each valid post

It prints a Markdown summary (counts per brand, intent, week, topic) for the data card.

Usage: python scripts/data/make_demo_data.py [--out-dir data/demo]
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 20260901
START = datetime(2026, 9, 1, tzinfo=timezone.utc)  # a Tuesday; week k = days [7k, 7k+7)
N_WEEKS = 6

BRANDS = {
    "SkyNimbus": {"handle": "@SkyNimbusAir", "industry": "airline", "tag": "#SkyNimbus"},
    "Vireo Mobile": {"handle": "@VireoMobile", "industry": "telecom", "tag": "#Vireo"},
    "Munchbox": {"handle": "@MunchboxEats", "industry": "food delivery", "tag": "#munchbox"},
    "Ledgerly": {"handle": "@LedgerlyApp", "industry": "software", "tag": "#ledgerly"},
}

# ---------------------------------------------------------------------------------------------
# Complaints: (brand, topic) -> weekly counts and hand-written texts.
# Topic ids match configs/taxonomy/demo.yaml, except "number-porting", which is deliberately left
# out of that taxonomy so topic discovery has something to find.
# ---------------------------------------------------------------------------------------------

COMPLAINTS: dict[tuple[str, str], dict] = {
    # ---------------- SkyNimbus (airline) ----------------
    ("SkyNimbus", "flight-delay"): {  # FADING
        "weeks": [10, 8, 6, 4, 2, 1],
        "texts": [
            "flight SN 412 delayed AGAIN. third time this month. what is going on",
            "Sitting at gate B7 for 3 hours now, no updates, no food vouchers, nothing.",
            "delayed 2h, then 4h, now 'TBD'. love that for me 🙃",
            "Wow another delay, truly the most consistent airline in the world 👏👏",
            "why is every single morning flight out of Denver late?? every. single. one.",
            "missed my connection in Chicago because SN 88 left 90 mins late. now stuck overnight",
            "pilot says we're waiting on a crew member. we've been on the tarmac for 70 minutes",
            "SO LATE. SO LATE. I'm going to miss my sister's wedding rehearsal",
            "delayyyyyy again 😤😤😤",
            "your app said on time right until we reached the gate, then boom, 3 hour delay",
            "Flight delayed by 5 hours and the only compensation is a $12 meal voucher. seriously?",
            "thanks for the extra 4 hours in the terminal, really needed to see every shop twice",
            "we boarded, we deplaned, we boarded again. still haven't moved. SN 230 is a joke",
            "how is a 50 min flight delayed for 3 hours with no explanation",
            "Gate agent just announced another hour of delay. People are lying on the floor. Not ok",
            "late late late. every trip with you guys is late",
            "vol retardé de 3 heures, aucune info, personne au comptoir. très décevant",
            "stuck in Atlanta bc the inbound plane is 'late from maintenance'. 6th delay this year",
            "Can't believe I paid extra for the early flight just for it to leave at noon",
            "I have been travelling for work every week for two years and I have genuinely lost count of "
            "how many of your flights left on time, because it's so few. Today SN 310 was delayed four "
            "times in a row, twenty minutes at a time, so nobody could leave the gate to get food. "
            "Just tell us the truth about the delay!!",
            "delayed so long the crew timed out. now waiting for a new crew. in Denver. at 1am",
            "my 'on time' flight departed 2 hrs 40 late, no apology from anyone",
        ],
    },
    ("SkyNimbus", "lost-luggage"): {
        "weeks": [2, 2, 2, 2, 1, 2],
        "texts": [
            "my bag didn't make it to Lisbon. 3 days now and the tracker still says 'in transit'",
            "thanks for losing my bag, really enjoying wearing the same socks for the third day 🙃",
            "Landed 6 hours ago, no luggage, and the baggage desk closed at 10pm. who do I call??",
            "lost my suitcase with my kid's medication in it. please someone answer the claim",
            "filed a lost bag report on monday, reference SN-LB-20931, zero updates since",
            "my luggage went to Phoenix. I went to Boston. great teamwork",
            "Bag is officially lost. Your claims line hangs up after 40 min on hold",
            "baggage carousel stopped, half the flight has no bags and there's no staff around",
            "4 days without my bag, had to buy a suit for the conference. will you reimburse this or not",
            "where is my bag 😭😭😭 #lostluggage",
            "the bag tracking link just says ERROR. it has said ERROR since friday",
        ],
    },
    ("SkyNimbus", "cancellation"): {
        "weeks": [2, 1, 2, 1, 2, 1],
        "texts": [
            "cancelled my flight at 11pm the night before and rebooked me 2 DAYS later. unacceptable",
            "Flight cancelled, rebooking line is a 3 hour wait, app says 'contact us'. which is it",
            "got a text that SN 507 is cancelled. no reason, no alternative, nothing",
            "you cancelled my flight and now want me to pay the fare difference to rebook?? no",
            "cancelled AGAIN. that's two cancellations on the same trip",
            "Wonderful, flight cancelled while we were boarding. 200 people queuing at one desk",
            "rebooked me via Dallas with a 9 hour layover after cancelling the direct. thanks i guess",
            "flight cancelled for 'operational reasons'. I want a full refund not a voucher",
            "kids stuck at the airport bc you cancelled and there are no hotel vouchers left",
        ],
    },
    ("SkyNimbus", "refund"): {
        "weeks": [1, 2, 1, 2, 1, 1],
        "texts": [
            "still waiting for my refund from the June cancellation. it's been 11 weeks",
            "you said 7-10 business days for the refund. it's been 7-10 WEEKS",
            "refund request #88213 marked 'closed' but no money ever came back to my card",
            "I was promised a refund on the phone and now the website says I only get credit. which is it",
            "day 45 of asking for my refund. still nothing.",
            "cancelled flight, refund approved, money never arrived. agents keep telling me to wait",
            "I don't want a travel voucher I want my $420 back",
            "where's my refund?? submitted in August",
        ],
    },
    ("SkyNimbus", "customer-service"): {
        "weeks": [2, 1, 2, 1, 2, 1],
        "texts": [
            "on hold for 2 hours and 14 minutes. then the call dropped. amazing customer service",
            "the agent at the Denver check-in desk literally rolled her eyes and walked away from me",
            "chat support closed my conversation mid-sentence. twice.",
            "why does it take 5 days to get a reply to an email about a flight that's tomorrow??",
            "gate staff were so rude to an elderly passenger in front of me. shameful",
            "Your phone line says 'high call volume' every single day. hire more people",
            "asked a simple question at the counter and got yelled at. never again",
            "no one answers your DMs, no one answers the phone, what am I supposed to do",
            "customer service rep hung up on me when I asked for a supervisor",
        ],
    },
    ("SkyNimbus", "booking-website"): {
        "weeks": [1, 2, 1, 2, 1, 2],
        "texts": [
            "your website crashed at the payment step three times and charged my card once. what",
            "can't select seats online, it just spins forever",
            "booking page keeps throwing 'session expired' after I enter all passenger details 😡",
            "website says my booking doesn't exist. I have the confirmation email right here",
            "seat map shows every seat taken on a half empty flight. your site is broken",
            "tried to check in online for an hour, error 500 every time",
            "the app logged me out and my seat selection vanished. I PAID for those seats",
            "why does your website change the price when I click 'continue'",
            "Manage booking has been down all weekend, can't add my passport details",
        ],
    },
    # ---------------- Vireo Mobile (telecom) ----------------
    ("Vireo Mobile", "network-outage"): {
        "weeks": [2, 2, 3, 2, 2, 2],
        "texts": [
            "no signal in the whole of the east side since this morning. what's going on",
            "NO SERVICE. AGAIN. 3rd outage this month",
            "my phone says SOS only. I pay you 60 a month for SOS only?",
            "network down in Leeds, can't call, can't text, can't work",
            "zero bars at home for a week now, your coverage map says 'excellent' lol",
            "outage for 9 hours and not a single update on your status page",
            "calls drop every time i walk into the kitchen. every. time.",
            "is it just me or is Vireo down everywhere rn",
            "no signal no data no nothing 📵📵📵",
            "mobile data completely dead since the 'maintenance' last night",
            "couldn't call an ambulance for my dad yesterday because there was no signal. I am furious.",
            "sin señal desde ayer en todo el barrio, fix it please",
            "thanks Vireo, nothing says premium network like no signal in the city centre 🙃",
        ],
    },
    ("Vireo Mobile", "billing"): {
        "weeks": [1, 2, 1, 2, 1, 1],
        "texts": [
            "charged me £38 in roaming when I was never out of the country",
            "my bill went up by 15 a month with no warning. that's not what I signed up for",
            "Why is there a 'service fee' on my bill that I never agreed to??",
            "billed twice for september. support says 'wait for next cycle'. no.",
            "you overcharged me 3 months in a row and each time you promise it's fixed",
            "the price on the contract: 25. the price on my bill: 41. explain",
            "got charged for a premium add-on I've never even heard of",
            "Cancelled my line in July and you're STILL billing me",
        ],
    },
    ("Vireo Mobile", "slow-internet"): {
        "weeks": [2, 1, 2, 1, 2, 1],
        "texts": [
            "home broadband is sooooo slooooow. 2 mbps on a 500 mbps plan",
            "speed test says 0.8 Mbps. I could send a letter faster",
            "your 5G is slower than my old 3G phone was",
            "can't even load a google search in the evening. every evening it's like this",
            "internet crawls after 6pm, paying for fibre and getting dial-up",
            "videos buffering every 10 seconds, work calls freezing. fix your network pls",
            "slow slow slow. 4 bars and nothing loads 🐌",
            "Great, 'unlimited' data that gets throttled to nothing after 5GB",
            "my upload speed is literally 0.1. can't even send a photo",
        ],
    },
    ("Vireo Mobile", "number-porting"): {  # NOT in the demo taxonomy (left for discovery)
        "weeks": [1, 2, 2, 2, 3, 2],
        "texts": [
            "been trying to port my number to Vireo for 12 days. still on my old carrier. no one knows why",
            "you lost my number during the transfer. I've had that number for 15 years",
            "PAC code submitted twice, port still 'pending'. meanwhile I can't receive any texts",
            "number transfer failed AGAIN and now I have two SIMs and neither works",
            "switched to you and my old number just vanished. bank codes are going nowhere",
            "Port-in request stuck for 2 weeks. the store says call, the call centre says go to the store",
            "my number got moved to someone else's account?!? how is that even possible",
            "3rd week without my own phone number because of your porting process",
            "porting my number was supposed to take 1 day. it's day 9",
            "keep your number they said. it'll be easy they said. now I have a temp number and no one can reach me",
            "portabilidad del número atascada, 10 días sin mi número 😡",
            "the transfer of my number from Orbitel failed and nobody will tell me why",
        ],
    },
    # ---------------- Munchbox (food delivery) ----------------
    ("Munchbox", "missing-items"): {  # RISING
        "weeks": [2, 3, 4, 6, 8, 10],
        "texts": [
            "ordered 3 burgers, got 2. again.",
            "no drinks in my order. third time this month",
            "missing the fries, missing the sauce, basically got a bag with one sandwich",
            "where's my dessert?? paid for it, didn't get it",
            "half my order is missing and the app only lets me report one item?",
            "you guys forgot the main dish. i got sides. just sides.",
            "opened the bag, no naan, no rice. it was a curry order. 🙄",
            "Item missing again. Starting to think it's a feature",
            "great, the kids' meals are missing, so now I have 2 hungry kids and 2 adult burgers",
            "missing items every single order lately. what changed?",
            "got someone else's bag, no idea whose, definitely not my sushi",
            "wrong order entirely. I ordered vegetarian and got a chicken bucket",
            "my order arrived with 1 of 4 items. ONE. OF. FOUR.",
            "missing my drink AGAIN 😤 that's like 5 orders in a row",
            "the receipt stapled to the bag lists stuff that isn't in the bag lol",
            "thanks for the empty sauce bag, very filling 🙃",
            "ordered a pizza and two sides, got the sides. no pizza. how",
            "am I the only one getting missing items from Munchbox constantly now? it's every order",
            "falta la bebida y las papas otra vez 😒",
            "the restaurant says they packed everything, the driver says not his problem, and I'm "
            "missing half my dinner",
            "Seriously what is going on with your orders lately. Last week no drinks, on Tuesday no "
            "dessert, tonight the whole main course just wasn't in the bag. I've reported every single "
            "one and each time I get the same copy-paste apology. Fix your packing or I'm deleting the app",
            "recieved my order minus the chicken wings which were the entire point of ordering",
            "definately ordered the large meal, definately got a small burger and nothing else",
            "bag was sealed, still missing 2 items. so it's the restaurant? who do I even complain to",
        ],
    },
    ("Munchbox", "late-delivery"): {
        "weeks": [2, 2, 1, 2, 2, 1],
        "texts": [
            "estimated 25 min. it's been 1h 40. driver's icon hasn't moved",
            "order 'arriving soon' for the last 55 minutes",
            "Food arrived 2 hours late. I had already made toast and gone to bed",
            "driver went to 3 other addresses first and my food came an hour late",
            "why does the ETA keep jumping from 10 min to 45 min??",
            "delivery was over an hour late and the app gave me 50p credit. insulting",
            "sooo late. again.",
            "ordered lunch at 12, it came at 2:15. lunch break over",
            "late again!!! every friday night the same story",
            "tracker said delivered. it was not delivered. it turned up 40 min later",
        ],
    },
    ("Munchbox", "food-quality"): {
        "weeks": [2, 1, 2, 1, 2, 1],
        "texts": [
            "fries arrived cold and soggy, burger was squashed flat",
            "ice cold pizza, the cheese had set. gross",
            "my soup was lukewarm and half of it spilled in the bag",
            "the food was cold, like fridge cold. how long was it sitting there",
            "noodles turned into one solid brick by the time they arrived",
            "cold food AGAIN. maybe invest in insulated bags",
            "coffee arrived cold and spilled everywhere 😩",
            "salad was warm and the hot food was cold. impressive really",
            "Sushi smelled off when it arrived, not eating that",
        ],
    },
    ("Munchbox", "refund"): {
        "weeks": [1, 2, 1, 1, 2, 1],
        "texts": [
            "refund for my missing order 'approved' 3 weeks ago. still not in my account",
            "Munchbox refunds take longer than the actual food. still waiting since the 2nd",
            "app says refund issued. bank says nothing received. support says wait. it's been a month",
            "got refunded in 'Munchbox credit' when I asked for my money back to my card",
            "refund denied because 'the driver marked it as delivered'. it was NOT delivered",
            "asked for a refund on a cold, wrong order and got offered a 10% coupon. no thanks",
            "where is my refund? 18 days and counting",
            "refund still pending after 2 weeks, no replies in chat",
        ],
    },
    ("Munchbox", "app-crash"): {
        "weeks": [1, 2, 1, 1, 2, 1],
        "texts": [
            "app crashes every time I hit 'place order'. tried 6 times",
            "checkout keeps crashing and I think it charged me anyway??",
            "can't pay in the app, spinning wheel then it closes",
            "the munchbox app froze at payment and now I have 3 pending charges",
            "app crashes when I apply a promo code at checkout, every time",
            "anyone else's app just closing at checkout? iPhone 15, latest version",
            "basket emptied itself after the app crashed. had to add everything again. twice.",
            "Checkout button does nothing. literally nothing. hungry and angry",
        ],
    },
    # ---------------- Ledgerly (software) ----------------
    ("Ledgerly", "app-crash"): {  # RISING sharply after the update released on 2026-09-29
        "weeks": [1, 1, 1, 1, 14, 16],
        "early": [
            "Ledgerly closed itself while I was entering an invoice, lost the draft",
            "app crashed when exporting a report to PDF",
            "Ledgerly freezes on the dashboard every now and then, have to force quit",
            "crash when attaching a receipt photo on android",
        ],
        "texts": [
            "since the new update Ledgerly crashes on launch. can't get past the splash screen",
            "updated to 5.2 this morning and now the app won't even open",
            "the new update is a disaster. crashes every time I open invoices",
            "app crashes after update, iPad Pro, iOS 18. reinstalled twice, no luck",
            "Ledgerly has crashed 7 times today. SEVEN. since the update",
            "whatever you shipped in the last update broke everything. crash crash crash",
            "can't do my month-end close because the app keeps crashing after the update. clients waiting",
            "love that the new update added dark mode and also made the app unusable 🙃",
            "new version crashes when I tap on any expense. please roll it back",
            "APP CRASHES ON OPEN SINCE UPDATE. PLEASE FIX. I HAVE PAYROLL TOMORROW",
            "is anyone else's Ledgerly crashing nonstop since yesterday's update?",
            "update broke the app on android. opens, white screen, closes",
            "crashing crashing crashing. 5.2 is unusable",
            "The latest Ledgerly update crashes whenever I try to reconcile the bank feed",
            "please tell me a fix for the crash is coming. been 4 days since the update",
            "the app now crashes mid-invoice and loses everything i typed. thanks for the update",
            "Ledgerly 5.2 keeps crashing on my Pixel 8. any fix??",
            "update installed. app dead. great start to the week",
            "ever since the update the app closes itself when I scan a receipt",
            "accountant here, 3 of my clients called today because Ledgerly crashes after the update",
            "nice update, shame the app crashes before I can see it",
            "the desktop app too now?? crashed twice since updating, lost an unsaved invoice",
            "die App stürzt seit dem Update ständig ab, bitte fixen",
            "アップデート後にアプリが落ちる… Ledgerly please fix the crash",
            "the new update crashes every time I open the reports tab 😭😭",
            "I run a small bakery and do my books on the train home. Since Tuesday's update the app has "
            "crashed every single time I open it. I've reinstalled, restarted, cleared the cache, "
            "everything your help page says. Nothing. I pay for Pro. Please just put the old version back",
        ],
    },
    ("Ledgerly", "login"): {
        "weeks": [2, 1, 2, 1, 2, 1],
        "texts": [
            "locked out of my account. 2FA codes never arrive",
            "login loop: enter password, enter code, back to the login screen. forever",
            "changed phones and now I can't log in because the authenticator was on the old phone",
            "'invalid verification code' on a code I got 5 seconds ago",
            "can't log in on desktop, works on my phone, no idea why",
            "password reset email never arrives. checked spam. 4 times",
            "your google sign-in just errors out since monday",
            "I've been locked out for 3 days and my invoices are due. help!!",
            "2FA SMS takes 20 minutes to arrive and expires after 5. brilliant design",
        ],
    },
    ("Ledgerly", "data-sync"): {
        "weeks": [1, 2, 2, 1, 2, 1],
        "texts": [
            "sync wiped out last week's invoices. they're just gone",
            "entered 40 expenses on my phone, none of them synced to the desktop",
            "data disappears between devices. this is an accounting app, that's the one thing it must not do",
            "sync conflict deleted my client list. do you have backups??",
            "my balances are different on the web and in the app. which one is real",
            "transactions duplicated after sync, now my books are a mess",
            "the sync has been 'in progress' for 2 days",
            "lost 3 hours of bookkeeping to a sync error. not happy",
            "Sync error 409 every time. nothing saves",
        ],
    },
    ("Ledgerly", "billing"): {
        "weeks": [1, 2, 1, 2, 1, 1],
        "texts": [
            "charged twice for my annual subscription. that's $240 extra",
            "I cancelled my Ledgerly subscription in August and you charged me again in September",
            "double charge on my card this month, same amount, same day",
            "downgraded to the free plan and still got billed for Pro",
            "price went up 40% at renewal with one email buried in my promotions tab. sneaky",
            "why was I charged for 5 seats when we're a team of 2?",
            "billed twice AGAIN. this is the 2nd month in a row",
            "trial was supposed to be free. charged $29 on day 3",
        ],
    },
}

# ---------------------------------------------------------------------------------------------
# Non-complaints. Entries are (text, sentiment, topic) or plain text (default sentiment, no topic).
# "{h}" is replaced by the brand's handle, "{b}" by its name. Brand-specific lists first.
# ---------------------------------------------------------------------------------------------

QUESTIONS: dict[str, list] = {
    "SkyNimbus": [
        "do you fly to Lima?",
        "Can I bring a stroller on board or does it have to be checked?",
        "is SN 230 from Denver on time tonight?",
        ("what's the baggage allowance on basic economy", "neutral", "lost-luggage"),
        "how early should I get to the airport for an international flight from Boston",
        ("can I change my seat online after check-in", "neutral", "booking-website"),
        "please DM me my confirmation number, I can't find the email",
        "do you allow pets in the cabin on flights to Mexico",
        "Is there wifi on the Denver to Seattle route",
        "how do I add my known traveller number to my booking",
        "wondering if I can use my travel credit for someone else's ticket",
        "hi, when do flights for spring break go on sale",
        "does the 6am from Chicago have a meal service or should I bring food",
        "follow me so I can DM you my booking ref please",
        "can I take my guitar as a carry on",
        "what time does check in open for SN 901",
        "Thanks! Also, can I bring a car seat for my toddler on board?",
    ],
    "Vireo Mobile": [
        "does the unlimited plan include hotspot",
        "how do I set up an eSIM on a Pixel?",
        ("can I keep my number if I switch to Vireo", "neutral", "number-porting"),
        "is there 5G coverage in Bristol yet?",
        "what's the cheapest plan with EU roaming",
        "when does my contract end? DM'd you my account number",
        "do you sell the new iPhone outright or only on contract",
        "how do I check my data usage",
        "can I add a second line to my account online?",
        "how do I get the PUK code, my kid locked the SIM",
        "do your plans work in Canada",
        "where's the nearest Vireo store in Manchester",
        "the app is a bit slow today, how do I add a data bolt-on?",
    ],
    "Munchbox": [
        "do you deliver to Ashford yet?",
        "can I schedule an order for tomorrow lunch",
        "how do I change my delivery address after ordering?",
        "is there a way to tip the driver after delivery",
        "do you have a filter for gluten free restaurants",
        "what time do you stop delivering on sundays",
        "how do I delete a saved card from the app",
        "can I order for someone at a different address?",
        "what does Munchbox Plus include? worth it if I order twice a month?",
        "can restaurants see my phone number",
        "hey quick one, do you deliver alcohol in Scotland",
        "how do I become a restaurant partner on munchbox",
    ],
    "Ledgerly": [
        "does Ledgerly support multi-currency invoices?",
        "how do I export my data to CSV",
        "can I connect two bank accounts on the starter plan?",
        "is there a way to add my logo to invoices",
        "when is the Xero import coming",
        "does the app work offline?",
        "how do I add my accountant as a user",
        "what's the difference between Pro and Business",
        ("can I turn on 2FA with an authenticator app instead of SMS?", "neutral", "login"),
        "is Ledgerly MTD compatible for VAT",
        "hi, how do I undo a reconciled transaction",
        "do you have an API for pulling invoices?",
    ],
    "*": [
        "{h} what are your support hours?",
        "{h} is there a phone number for support or is it chat only",
        "hi {h}, where do I find my receipts",
        "{h} how do I update the email address on my account",
        "{h} can you DM me please, I have a question about my account",
        "{h} how do I close my account",
        "Thanks {h}! Also, how do I change my password?",
        "{h} do you sell gift cards?",
        "{h} which version of the app is the latest one",
        "{h} do you have a status page I can check",
    ],
}

PRAISE: dict[str, list] = {
    "SkyNimbus": [
        ("no problems at all, smooth flight and we even landed early. thanks!", "positive", "flight-delay"),
        ("my luggage arrived first on the carousel, great job team", "positive", "lost-luggage"),
        "shoutout to the crew on SN 412, best crew ever ✈️❤️",
        (
            "the gate agent in Denver rebooked me in 2 minutes when my connection changed. legend",
            "positive",
            "customer-service",
        ),
        "love flying with you guys, the seats actually have legroom",
        ("got my refund in 4 days, honestly didn't expect that. thank you", "positive", "refund"),
        "thanks for the quick help on DM earlier!",
        ("booked in 3 minutes on the new website, so much better", "positive", "booking-website"),
        "to the flight attendant who held my nervous daughter's hand during takeoff: thank you, truly",
        ("on time, friendly, free snacks. what more could you want", "positive", "flight-delay"),
        "Been flying SkyNimbus for 10 years and never once been disappointed",
        "great flight!! 😍✈️",
        "not a single complaint about today's flight, and I complain about everything 😂",
    ],
    "Vireo Mobile": [
        ("switched to Vireo last month and my signal at home is finally great", "positive", "network-outage"),
        ("support fixed my bill in one chat, refund already showing. impressed", "positive", "billing"),
        ("ported my number in under an hour, painless 👌", "positive", "number-porting"),
        ("5G speeds in town are insane, 900 Mbps 🤯", "positive", "slow-internet"),
        "the guy at the Vireo store on High St was super helpful",
        ("not a single dropped call in six months. thanks Vireo", "positive", "network-outage"),
        "love the new app, checking my data is so easy now",
        ("roaming in Spain worked perfectly, no surprise charges", "positive", "billing"),
        "best network I've had honestly",
    ],
    "Munchbox": [
        ("food arrived 10 min early and still piping hot 🔥", "positive", "late-delivery"),
        "driver was so kind, walked it up 4 flights of stairs in the rain",
        ("every item there, even the extra sauce. thank you!!", "positive", "missing-items"),
        "munchbox saving my life during exam week 🙏",
        ("refund came through instantly when my order was wrong, nice one", "positive", "refund"),
        "best delivery app, never had an issue",
        "Thank you for the quick support chat, sorted in 2 mins",
        "the new grocery section is actually great",
        ("pizza was still hot!!! 🍕🍕 good job", "positive", "food-quality"),
    ],
    "Ledgerly": [
        "Ledgerly has saved me hours every month on invoicing. worth every penny",
        "the new bank feed rules are brilliant",
        "support answered my question within 10 min on a Sunday. wow",
        "finally an accounting app that doesn't make me want to cry",
        ("sync between phone and laptop is seamless, love it", "positive", "data-sync"),
        "my accountant loves the reports from Ledgerly",
        "10/10 would recommend to any freelancer",
        "love the receipt scanner, works perfectly every time",
    ],
    "*": [
        "thanks {h} for the quick help!",
        "{h} you guys are the best ❤️",
        "big thanks to the support team at {b}, sorted everything in one go",
        "{b} never lets me down 👏👏",
        "really impressed with {b} today, well done",
        "{h} great service as always",
        "{h} 💯💯💯 love it",
        "{b} just gets it right. every time.",
    ],
}

FAVOURS: dict[str, list] = {
    "SkyNimbus": [
        ("it's my birthday flight today 🎂 any chance of a free upgrade??", "positive"),
        ("love you guys, any chance of a free upgrade on SN 88? 🙏", "positive"),
        ("great flight, can you follow me back?", "positive"),
        "hook me up with lounge access? 😇",
        "I make travel vlogs with 20k subs, open to a sponsorship? DM me",
    ],
    "Vireo Mobile": [
        "give me a free phone and I'll never leave you 😂",
        "any promo codes for the new unlimited plan? 🙏",
        "been with you 8 years, could I get a loyalty discount on my renewal",
    ],
    "Munchbox": [
        "free delivery code for my birthday? 🎂🙏",
        "can I have free pizza for life? asking for me",
        "munchbox pls sponsor my food blog 🍔📸 link in bio",
    ],
    "Ledgerly": [
        "any chance of a free year of Pro for a struggling freelancer? 🙏",
        "are you hiring? would love to work on the Ledgerly design team",
        "send me some Ledgerly merch pls, I'll wear it to every client meeting",
    ],
    "*": [
        "{h} follow me back pleaseee 🥺",
        "{h} notice me!!! been a fan for years",
        "{h} can I get a promo code? 🙏",
        "{h} any discount codes for a poor student 😅",
        "{h} do I win the giveaway?? 🤞🤞",
        "entering the {b} giveaway!! pick me pick me 🎉",
        "{h} RT this so my friend sees it please!!",
        "{h} shout out my small business pleeease",
        ("{h} love you so much 💕 follow back?", "positive"),
        "{h} retweet my fundraiser please! link in bio",
        "{h} can you give me a shout out, it's my 30th today 🎉",
        "{h} any internships going for next summer?",
        "FOLLOW ME BACK {h} 🙏🙏🙏",
    ],
}

OTHER: dict[str, list] = {
    "SkyNimbus": [
        "I'm on flight SN 1234 tomorrow, see you all there",
        "landed.",
        "on my way to the airport ✈️",
        "booked with SkyNimbus for December, let's see how it goes",
        "flying to Denver for work this week",
        "who else is watching the game at gate C4",
    ],
    "Vireo Mobile": [
        "that new Vireo ad song is stuck in my head",
        "Vireo and Munchbox should do a collab lol",
        "just saw the Vireo billboard on the motorway, bright green, can't miss it",
    ],
    "Munchbox": [
        "ordering munchbox tonight, who's in",
        "the munchbox ad with the dancing cat... make it stop 😂",
        "my flatmate works as a munchbox driver haha",
    ],
    "Ledgerly": [
        "Ledgerly tip of the day: close your books on Friday. no I don't work there",
        "month end. coffee. Ledgerly. let's go",
        "moving my bookkeeping over to Ledgerly this weekend",
    ],
    "*": [
        "{h} sent you a DM",
        "ok will do",
        "ok",
        "yes",
        "{h} DM sent 👍",
        "I did",
        "no",
        "{h} 😂😂😂",
        "{b} is trending lol what happened",
        "{h} done, sent the screenshot in DM",
        "my mom works at {b} haha",
        "{h} I'll check and get back to you",
        "🔥 Make $500 a day from home!! click here https://bit.ly/3xQ9kLm 🔥",
        "Check out my new podcast ep about customer experience https://t.co/p0dC4st01",
        "{h} saw your post about the new logo, interesting choice",
        "👀",
        "{h} lol",
    ],
}

# Counts of non-complaint posts per brand (complaints come from the weekly schedules above).
N_PER_BRAND = {
    #               question praise favour other
    "SkyNimbus": (27, 21, 13, 16),
    "Vireo Mobile": (22, 18, 12, 15),
    "Munchbox": (23, 19, 13, 15),
    "Ledgerly": (23, 18, 12, 15),
}

EMOJI_SUFFIX = {
    "complaint": [" 😡", " 😤", " 🙄", " 😠", " 🤬", " 😒", " 😩", " 👎"],
    "question": [" 🙏", " 🤔", " thanks!", " cheers", " ty"],
    "praise": [" 🙌", " 😍", " ❤️", " 👏", " 🥰", " 💙"],
    "favour-seeking": [" 🥺", " 🙏🙏", " 😁", " ✨"],
    "other": [" 😅", " 😂", ""],
}
DEFAULT_SENTIMENT = {
    "complaint": "negative",
    "question": "neutral",
    "praise": "positive",
    "favour-seeking": "neutral",
    "other": "neutral",
}


def _norm(entry: object, intent: str) -> tuple[str, str, str | None]:
    if isinstance(entry, str):
        return entry, DEFAULT_SENTIMENT[intent], None
    assert isinstance(entry, tuple)
    text = entry[0]
    sentiment = entry[1] if len(entry) > 1 else DEFAULT_SENTIMENT[intent]
    topic = entry[2] if len(entry) > 2 else None
    return text, sentiment, topic


def _short_link(rng: random.Random) -> str:
    chars = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "https://t.co/" + "".join(rng.choice(chars) for _ in range(10))


def decorate(base: str, brand: str, intent: str, rng: random.Random, variant: int) -> str:
    """Return a natural-looking post from a hand-written sentence (handle, emoji, hashtag, link)."""
    info = BRANDS[brand]
    text = base.replace("{h}", info["handle"]).replace("{b}", brand)
    # second and later uses of the same sentence get a clearly different ending
    if variant > 0 or rng.random() < 0.3:
        extra = rng.random()
        ends_in_emoji = not text[-1].isascii()
        if ends_in_emoji and extra < 0.45:
            extra = 0.5  # never stack a second emoji or smiley on a post that already ends in one
        if ends_in_emoji and extra >= 0.65 and intent not in ("complaint", "praise"):
            extra = 0.5
        if extra < 0.45:
            text += rng.choice(EMOJI_SUFFIX[intent])
        elif extra < 0.65:
            text += " " + info["tag"]
        elif extra < 0.85 and intent in ("complaint", "praise"):
            text += " " + _short_link(rng)
        elif intent == "complaint":
            text += rng.choice([" #fail", " #customerservice", " #notimpressed", " smh", " ugh"])
        elif intent == "praise":
            text += rng.choice([" 🙂", " #happycustomer", " x"])
        else:
            text += rng.choice(["!", " :)", " x", "!!"] if text[-1].isalnum() else [" :)", " x"])
    if "@" not in text:
        r = rng.random()
        if r < 0.55:
            text = f"{info['handle']} {text}"
        elif r < 0.70:
            text = f"{text} {info['handle']}"
        elif r < 0.78 and intent == "complaint":
            first = text.split()[0]
            if first.istitle() and first not in ("I", "I'm", "I've") and first.lower() not in brand.lower():
                text = text[0].lower() + text[1:]  # "Why is..." -> "hey @Brand why is..."
            text = f"hey {info['handle']} {text}"
    return text.strip()


def sample_time(rng: random.Random, week: int | None = None) -> str:
    day = rng.randrange(N_WEEKS * 7) if week is None else week * 7 + rng.randrange(7)
    # more posts in the day and evening than at night
    hours = [0, 1, 6, 7, 8, 9, 10, 11, 12, 12, 13, 14, 15, 16, 17, 18, 18, 19, 19, 20, 21, 21, 22, 23]
    hour = rng.choice(hours)
    ts = START + timedelta(days=day, hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))
    return ts.isoformat()


def sample_reach(rng: random.Random) -> int:
    if rng.random() < 0.03:
        return rng.randrange(50_000, 900_000)  # the occasional influencer / journalist
    return max(3, int(rng.lognormvariate(5.2, 1.3)))


class Picker:
    """Cycle through a shuffled list so texts repeat as little as possible."""

    def __init__(self, items: list, rng: random.Random) -> None:
        self.items = list(items)
        self.rng = rng
        self.queue: list = []
        self.uses: Counter = Counter()

    def next(self) -> tuple[object, int]:
        if not self.queue:
            self.queue = list(self.items)
            self.rng.shuffle(self.queue)
        item = self.queue.pop()
        key = item if isinstance(item, str) else item[0]
        self.uses[key] += 1
        return item, self.uses[key] - 1


def build(rng: random.Random) -> list[dict]:
    rows: list[dict] = []
    seen: set[str] = set()

    def add(brand: str, intent: str, entry: object, variant: int, week: int | None) -> None:
        base, sentiment, topic = _norm(entry, intent)
        for attempt in range(20):
            text = decorate(base, brand, intent, rng, variant + attempt)
            if text not in seen:
                break
        seen.add(text)
        rows.append(
            {
                "text": text,
                "created_at": sample_time(rng, week),
                "brand": brand,
                "reach": sample_reach(rng),
                "_intent": intent,
                "_sentiment": sentiment,
                "_topic": topic,
            }
        )

    for (brand, topic), spec in COMPLAINTS.items():
        main = Picker([(t, "negative", topic) for t in spec["texts"]], rng)
        early = None
        if "early" in spec:  # texts used before the update (weeks 0-3)
            early = Picker([(t, "negative", topic) for t in spec["early"]], rng)
        for week, n in enumerate(spec["weeks"]):
            for _ in range(n):
                picker = early if (early is not None and week < 4) else main
                entry, variant = picker.next()
                add(brand, "complaint", entry, variant, week)

    pools = {"question": QUESTIONS, "praise": PRAISE, "favour-seeking": FAVOURS, "other": OTHER}
    for brand, counts in N_PER_BRAND.items():
        for intent, n in zip(("question", "praise", "favour-seeking", "other"), counts, strict=True):
            pool = pools[intent]
            specific = [e if isinstance(e, tuple) else (e,) for e in pool[brand]]
            generic = [e if isinstance(e, tuple) else (e,) for e in pool["*"]]
            # use every brand-specific text once, then fill with the generic ones
            for entry in specific[:n]:
                add(brand, intent, entry, 0, None)
            picker = Picker(generic, rng)
            for _ in range(max(0, n - len(specific))):
                entry, variant = picker.next()
                add(brand, intent, entry, variant, None)

    rows.sort(key=lambda r: r["created_at"])
    channel_rows = rng.sample(range(len(rows)), k=round(0.1 * len(rows)))
    for i, row in enumerate(rows):
        row["id"] = f"demo-{i + 1:04d}"
        if i in channel_rows:
            row["channel"] = rng.choice(["twitter", "twitter", "instagram"])
    return rows


MALFORMED = [
    '{"id": "demo-bad-1", "text": "@SkyNimbusAir my bag is still miss',  # truncated JSON
    json.dumps(
        {
            "id": "demo-bad-2",
            "text": None,
            "created_at": "2026-10-12T09:00:00+00:00",
            "brand": "SkyNimbus",
            "reach": 120,
        }
    ),
    json.dumps({"id": "demo-bad-3", "created_at": "2026-10-12T09:05:00+00:00", "brand": "Munchbox", "reach": 45}),
    json.dumps(
        {
            "id": "demo-bad-4",
            "text": 12345,
            "created_at": "2026-10-12T09:10:00+00:00",
            "brand": "Vireo Mobile",
            "reach": 300,
        }
    ),
    json.dumps(
        {
            "id": "demo-bad-5",
            "text": ["app", "crashed", "again"],
            "created_at": "2026-10-12T09:15:00+00:00",
            "brand": "Ledgerly",
            "reach": 80,
        }
    ),
    "this line is not JSON at all, just a stray note pasted into the export",
]


def week_of(created_at: str) -> int:
    return (datetime.fromisoformat(created_at) - START).days // 7


def summary(rows: list[dict]) -> str:
    intents = ["complaint", "question", "praise", "favour-seeking", "other"]
    out = [
        f"Valid posts: {len(rows)} ({len({r['text'] for r in rows})} distinct texts); "
        f"malformed lines: {len(MALFORMED)}; rows with `channel`: {sum('channel' in r for r in rows)}",
        "",
    ]
    out.append("| brand | industry | " + " | ".join(intents) + " | total |")
    out.append("|---|---|" + "---|" * (len(intents) + 1))
    for brand in BRANDS:
        c = Counter(r["_intent"] for r in rows if r["brand"] == brand)
        out.append(
            f"| {brand} | {BRANDS[brand]['industry']} | "
            + " | ".join(str(c[i]) for i in intents)
            + f" | {sum(c.values())} |"
        )
    c = Counter(r["_intent"] for r in rows)
    out.append(
        "| **all** | | " + " | ".join(f"{c[i]} ({100 * c[i] / len(rows):.0f}%)" for i in intents) + f" | {len(rows)} |"
    )
    out.append("")
    out.append("| week (starts) | " + " | ".join(intents) + " | total |")
    out.append("|---|" + "---|" * (len(intents) + 1))
    for w in range(N_WEEKS):
        c = Counter(r["_intent"] for r in rows if week_of(r["created_at"]) == w)
        start = (START + timedelta(days=7 * w)).date().isoformat()
        out.append(f"| {w} ({start}) | " + " | ".join(str(c[i]) for i in intents) + f" | {sum(c.values())} |")
    out.append("")
    out.append("Complaints per problem topic and week:")
    out.append("")
    out.append("| brand | topic | " + " | ".join(f"w{w}" for w in range(N_WEEKS)) + " | total |")
    out.append("|---|---|" + "---|" * (N_WEEKS + 1))
    for brand, topic in COMPLAINTS:
        c = Counter(
            week_of(r["created_at"])
            for r in rows
            if r["brand"] == brand and r["_topic"] == topic and r["_intent"] == "complaint"
        )
        out.append(
            f"| {brand} | {topic} | " + " | ".join(str(c[w]) for w in range(N_WEEKS)) + f" | {sum(c.values())} |"
        )
    s = Counter(r["_sentiment"] for r in rows)
    out.append("")
    out.append("Sentiment: " + ", ".join(f"{k} {s[k]}" for k in ("negative", "neutral", "positive")))
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-dir", default=str(Path(__file__).resolve().parents[2] / "data" / "demo"))
    args = ap.parse_args()
    rng = random.Random(SEED)
    rows = build(rng)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    public = ("id", "text", "created_at", "brand", "reach", "channel")
    with open(out / "posts.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps({k: r[k] for k in public if k in r}, ensure_ascii=False) + "\n")
        for line in MALFORMED:
            f.write(line + "\n")
    with open(out / "labels.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(
                json.dumps(
                    {
                        "id": r["id"],
                        "intent": r["_intent"],
                        "sentiment": r["_sentiment"],
                        "topic": r["_topic"],
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    print(summary(rows))


if __name__ == "__main__":
    main()
