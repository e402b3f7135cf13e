#!/usr/bin/env python3
# ruff: noqa: E501  (a few hand-written posts are long on purpose)
"""Write the project-authored intent training set ``data/train/intent-extra.jsonl``.

Every post text in this file was written by hand for voc-pipeline, following the project's
annotation guidelines (``ANNOTATION.md``). Nothing is copied or paraphrased from any dataset; all
brands, handles, people, places-in-context and links are made up. The posts are spread over many
industries so an intent model trained on airline tweets learns to generalise to other brands.

The script is deterministic (fixed seed, standard library only). Each output line is
``{"id", "text", "intent", "sentiment", "brand", "industry"}``; ids are ``extra-0001`` ... in the
(shuffled, fixed) output order. It prints counts per intent, industry and sentiment, and an
intent x industry table (Markdown) for the data card ``data/train/README.md``.

Line format of the hand-written pools below (one post per line):

* optional ``N| `` : pin the post to brand number N of its industry (when the text only fits it);
* optional sentiment prefix: ``+ `` positive, ``- `` negative, ``= `` neutral (otherwise the
  intent's default: complaint -> negative, question -> neutral, praise -> positive,
  favour-seeking -> positive, other -> neutral);
* optional ``~ `` : do not add the brand handle (prefixes in this order: pin, sentiment, ``~``);
* ``{b}`` is replaced by the brand handle and ``{n}`` by the brand name; a post without ``{b}``
  gets the handle put in front (sometimes at the end, a few times not at all).

Usage: python scripts/make_intent_extra.py [--out data/train/intent-extra.jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter
from pathlib import Path

SEED = 20260917
INTENTS = {
    "complaint": ("complaint", "negative"),
    "question": ("question", "neutral"),
    "praise": ("praise", "positive"),
    "favour": ("favour-seeking", "positive"),
    "other": ("other", "neutral"),
}
SENT = {"+": "positive", "-": "negative", "=": "neutral"}
# Brands used by the demo data set; they must never appear here (the demo must stay independent).
FORBIDDEN = ("skynimbus", "nimbus", "vireo", "munchbox", "ledgerly")

DATA: dict[str, dict] = {}

# =============================================================================================
# RETAIL  (0 fashion, 1 outdoor gear, 2 general online shop)
# =============================================================================================
DATA["retail"] = dict(
    brands=[
        ("@UrbanThreads", "Urban Threads"),
        ("@TrailheadOutdoors", "Trailhead Outdoors"),
        ("@MarketLaneShop", "MarketLane"),
    ],
    complaint="""
ordered a coat on the 2nd, tracking hasn't moved in 9 days. nobody answers the chat
thanks for sending me two left shoes. really useful 🙃
why does your website ALWAYS crash at checkout??
0| The jeans I bought last week already have a hole in the seam. Washed once. Once.
been waiting 3 weeks for my refund, you took the money in 3 seconds though
my order never arrived and tracking says delivered. who do I even call about this?
the lady at the Kingsway store was so rude to my mum today, honestly shocking
charged twice for the same order. want my money back asap
ordered a medium, got an XXL. and the return label link doesn't work either
great, "out of stock" right AFTER you took my payment. love it
half my order missing, no note, no email, nothing
45 min queue at the returns desk with ONE person working. sort it out
the promo code in your own email says "invalid code" at checkout every single time
your "next day delivery" took 6 days. I want the delivery fee refunded
zip on my new jacket broke the first time I wore it. not what I expect for £120
the app keeps logging me out every time i try to pay 😤
WHERE IS MY ORDER
1| bought walking boots in the sale, soles came off after 2 weeks. rubbish
store says return it online, website says return it in store. which is it?? going round in circles
so ur telling me i waited in ALL DAY and the driver left a card saying no one was home?? i was literally at the window
the fitting rooms at the Bristol store were filthy, clothes all over the floor
1| three emails, two chats, one phone call and still no refund for the broken tent. done with you
0| sizes are completely random now. same size, same cut, totally different fit
price dropped £30 the day after I bought it and you won't honour it. cheers
your customer service hung up on me. twice.
gift card balance shows £0 but I never used it??
your security guard followed me round the whole store like I was a criminal. not ok
1| ordered a sleeping bag for a trip this weekend, now it's "delayed until further notice". useless
I've been a customer for years but this is the last straw. Ordered a birthday present for my son two weeks ago, paid for express, got an email saying it had shipped, then nothing. The chat bot goes in circles and the phone line says call back later. His birthday was yesterday.
😡😡 still no refund
0| the colour on the site is nothing like the real thing. "sage green" is basically grey
receipt says 3 items, bag had 2. checked the car, checked the house. brilliant
""",
    question="""
do you ship to Ireland?
how do I return something I bought online to a store
need to know if the Leeds store has the black puffer in a size 10
what time does the Manchester store open on bank holidays?
can I change the delivery address after ordering?
is the summer sale online only or in store too
please DM me my order number, I lost the email
1| do these boots come in a wide fit?
hi! how long do refunds usually take to show on a card?
+ Thanks! Also is there parking at the Riverside store?
follow me so I can DM you my order details
0| any idea when the linen shirts will be back in stock
can i use two gift cards on one order??
what's your returns window for Christmas presents
1| does the 2-person tent come with the footprint or is that separate?
how do I stop the text messages, I only want emails
is click and collect free
do you price match
""",
    praise="""
no problems at all, super smooth checkout and the parcel came next day 👌
the staff at the Camden store went above and beyond finding my size today. thank you!
never had an issue with you guys in 5 years. keep it up
0| not bad at all, the new autumn range is actually really nice
😍😍😍 that jacket
refund came through in 2 days, honestly impressed
1| best hiking boots I've ever owned, 400 miles and still going
thanks so much for sorting my return so fast!
shoutout to Priya at the returns desk, absolute legend
I can't complain, everything fits and it all arrived early
0| LOVEEEE my new coat
all the packaging is recyclable now?? love that
customer for life tbh
""",
    favour="""
love you guys, any chance of a discount code for my birthday? 🎂
follow back pls!! been a fan forever
= can you RT this? my friend is selling handmade bags https://t.co/k3Jd9QxPz
hiring any summer staff at the York store? would love to work for you
= any promo codes going? about to buy a lot 👀
0| I'd love to do a collab, I have 12k followers on insta and style your stuff all the time
pick me for the giveaway pleaseee 🙏
1| send me a free pair and I'll review them on my hiking channel 😎
it's my birthday today, a little treat wouldn't hurt 😇
0| please notice me, I wear your hoodie every single day
= any chance of a free upgrade to next day delivery? need it for Friday 🙏
could you give my little sister a shout-out? she's just opened her first shop
""",
    other="""
ok will do
DM sent
driving to the Leeds store tomorrow for the sale 🚗
+ that new advert with the dancing mannequins lol 😂
- the christmas ad already? it's september. make it stop
yes
just picked up my order
my mum worked at your Oxford St store in the 80s
1| wearing my new boots to the festival this weekend
#BlackFriday
done thanks
I did, yesterday
""",
)

# =============================================================================================
# TELECOMS (mobile + broadband)
# =============================================================================================
DATA["telecoms"] = dict(
    brands=[
        ("@ZephyrTelecom", "Zephyr Telecom"),
        ("@BeaconBroadband", "Beacon Broadband"),
        ("@OrbitMobile", "Orbit Mobile"),
    ],
    complaint="""
great, another outage, love it. third one this week
why is my internet ALWAYS down when I have a deadline??
no signal in the whole of Harrow since this morning. paying for what exactly
thanks for the help yesterday, but my bill is still wrong. £40 extra
been on hold for 1 hr 20 min. ONE HOUR TWENTY
promised an engineer between 8 and 12. it's 4pm. nobody came, nobody called
you put my price up AGAIN mid-contract. I want compensation for this nonsense
speeds are 3mbps on a 500mbps plan. lol. lmao even
my number transfer has been "in progress" for 11 days, can't get texts from my bank
roaming charges of £87 for 2 days in Spain when you told me it was included. want a refund
wifi drops every evening at 7 like clockwork. it's been a month
your chatbot just keeps sending me the same FAQ link. I need a human
cancelled my contract in June, you're still charging me in September??
router light blinking orange all day and the helpline's closed. brilliant service
my dad was mis-sold a plan he doesn't need. he's 82. shameful
phone upgrade arrived with a cracked screen and now I have to wait 10 days for a swap?
can't make calls. can't receive calls. can't text. what exactly am I paying you for
INTERNET DOWN AGAIN 😡😡😡
the new app deleted all my old bills, where have they gone??
5G my foot, can't even load a tweet in the town centre
shop staff told me one price, contract says another. not happy
wow, only 6 transfers between departments today, new record 👏
you sent a debt collector letter for a bill I already paid. sort it out now
my eSIM stopped working after the update and nobody in store knows how to fix it
no broadband for 9 days. I work from home. I'm losing money and I expect to be compensated
so the "unlimited" data is actually capped at 30GB? when were you going to tell us
engineer drilled through my wall in the wrong place and just left. great job
Moved house 3 weeks ago and booked the move 6 weeks in advance like your website says. Still no internet. Every call I get a new date. My kids are doing their homework at the library. I've been with you for 8 years and nobody seems to care.
lose signal every time i walk into the kitchen. new phone, same problem. it's the network
why does it take 45 minutes to cancel but 2 minutes to sign up??
ur network is sooo bad rn cant even send a pic
billed for calls to a number I've never heard of
""",
    question="""
is there any planned maintenance in Bristol this weekend?
how do I set up voicemail on the new plan
does the £20 plan include EU roaming?
need to know if fibre is available on Elm Road, BS7
can I keep my number if I switch to you
what's the process for getting a PUK code, I don't have the original card
please DM me the number for cancellations
how do I add my daughter to my family plan
is wifi calling supported on Pixel phones?
when does my contract end? can you DM me
hi, what are your store opening hours on a Sunday
do you offer social tariffs for people on benefits
can I get a paper bill instead of email
follow me pls so i can send my account number privately
+ Thanks for sorting the router! Also, can I move it to another room myself?
how do i check my data usage without the app
whats the difference between the 300 and 500 fibre packages
do you unlock phones when the contract ends
""",
    praise="""
engineer came on time, fixed it in 20 mins and was lovely. thank you!
5 years with you and never had an issue. solid
signal at the festival was incredible, only network that worked
not bad at all for the price tbh
thanks so much for the help, Dan on the chat was amazing
speeds are flying since the upgrade 🚀🚀
i can't complain, internet's been rock solid all year
switched to you last month, best decision I've made. bills are half what they were
shoutout to the Croydon store team, sorted my new phone in 10 mins
🙌🙌
the app actually tells you how much data you've got left now, love it
props to whoever answered my call at 11pm, super patient with my nan
coverage in the Highlands was way better than I expected, cheers
""",
    favour="""
any chance of a free upgrade to the new phone? been loyal for 10 years 🙏
love you guys! any spare promo codes for a free month?
follow me back, i've been with you since 2012 ❤️
= do you have any graduate jobs in network engineering? would love to apply
i'll switch my whole family over if you throw in a free tablet 😏
it's my birthday, how about some free data as a present 🎂
= RT this please, we're raising money for the local hospice 🙏
I stream on Twitch to 5k people, would love to be sponsored by you
enter me in the phone giveaway!! #giveaway
notice me senpai 🥺
any loyalty discount you could throw my way? 😇 contract's up next month
= give us a shout-out on your page, our community choir is performing Saturday
""",
    other="""
sent you a DM
ok I'll try that
switching my broadband over this weekend, wish me luck
- that ad with the singing cat needs to go. every break. every single one
my cousin works in your call centre lol
no
restarted it like you said
watching the match on my phone on the train rn ⚽
#WorldCup
on the phone to you now
+ lol the april fools post got me 😂
done
""",
)

# =============================================================================================
# SOFTWARE / APPS (0 photo editor, 1 office/cloud software, 2 to-do app)
# =============================================================================================
DATA["software"] = dict(
    brands=[("@PixelForgeApp", "PixelForge"), ("@CloudDeskSoftware", "CloudDesk"), ("@TaskPilotHQ", "TaskPilot")],
    complaint="""
why is your app ALWAYS down on Monday mornings??
latest update deleted all my saved projects. years of work. gone
charged me for the annual plan after I cancelled my trial. refund please
can't log in, the password reset email never arrives
the new UI is a mess, took me 10 minutes to find the export button
sync has been broken for 3 days and support just says "we're aware"
thanks for auto-renewing me without a reminder email 🙃
0| app crashes every time i open the camera. iPhone 13, latest iOS
2FA codes arrive 20 minutes late so I'm locked out of everything
you removed offline mode?? that was the only reason i paid
support ticket open for 19 days. no reply. ticket #48213
dark mode makes half the text invisible lol how did this ship
APP NOT LOADING
1| the Windows version eats 4GB of RAM doing absolutely nothing
paid for pro, still seeing ads. explain
2| the calendar integration double-booked my whole team. thanks for that
1| I lost a client presentation because autosave didn't save. want at least a month refunded
every update moves the buttons. stop moving the buttons
login loop on Android. enter password, back to login, enter password, back to login...
price went from $8 to $15 a month with a one-line email. no thanks
your "AI assistant" rewrote my whole document without asking and undo doesn't work
export to PDF has been broken since version 4.2, still not fixed in 4.5
great, another "we're experiencing issues" banner. love paying for this
0| whyyy does it need 6 permissions just to edit a photo
1| I run a small team of 8 and we rely on your software for everything. Since Tuesday the shared workspace won't load for half of us, support keeps closing our tickets as "resolved", and our clients are asking where their files are. This is costing us real money.
😤 crashed mid-edit again
2| reminders come through 2 hours late, completely useless
the help centre article for this error just says "contact support". support says "see the help centre"
files uploading at like 10kb/s. on gigabit fibre
2| desktop and phone showing different versions of the same list. which one is real??
got billed in dollars AND pounds this month. twice the fun
uninstalling. 3 crashes in an hour is enough
""",
    question="""
how do i reset my password
does the pro plan include team sharing?
is there a linux version
can I export my data to CSV
need to know if you offer an education licence for my class
when is dark mode coming to Android?
how do I move my licence to a new laptop
please DM me the steps to change the email on my account
does it work offline?
0| + love the new update! quick question, where did the brush presets go
0| is there a keyboard shortcut for duplicating a layer
what's the max upload size on the free plan
1| do you support SSO with Okta
how do i cancel my subscription through the app store
can i use the same account on my phone and my tablet
is my data stored in the EU
any plans for an Apple Watch app?
follow me so I can DM you my account email
""",
    praise="""
the new update is sooo smooth, finally!!
thanks for the quick fix, support replied in 10 min
been using this for 4 years and never had a problem
not bad at all, the new templates save me so much time
2| honestly the best to-do app out there
✨ this update ✨
I can't complain, works every single time
the undo history saved my whole project today. thank you thank you
your support team is unreal. fixed my sync in one reply
moved my whole team over from spreadsheets, everyone loves it
💯
the offline mode is a lifesaver on the tube
shoutout to the dev who added keyboard shortcuts for everything
""",
    favour="""
any chance of a free pro upgrade? I'm a broke student 🥲
love the app, got any promo codes for the annual plan?
follow back? huge fan of what you're building
are you hiring interns this summer? I'm a CS student and I'd love to work on this
I make tutorials on YouTube (30k subs), would love a sponsorship deal for my next video
0| RT my post about my shop's new logo please, made it all with your app! https://t.co/p9Lm2Qa7
can I get a free lifetime licence if I find a bug 😇
it's my birthday, free month of premium? 🥳
pls pick me in the beta giveaway
0| give my portfolio a shout-out? it's all made in your editor
notice meeee 🙋
= could you extend my free trial another month? bit skint right now 🙏
""",
    other="""
ok will do
yes, on version 5.1
uploading the logs now
downloading the beta tonight
- the new logo looks like a squashed biscuit lol
my little brother thinks your mascot is a potato
sent
#productivity #mondaymotivation
working from a café today ☕
+ that meme you posted 😂😂
reinstalled it
my teacher recommended you in class today
""",
)

# =============================================================================================
# FOOD & RESTAURANTS (0 bakery cafe, 1 burger chain, 2 noodle bar)
# =============================================================================================
DATA["food"] = dict(
    brands=[
        ("@CrumbleBakery", "Crumble Bakery"),
        ("@SizzleBurgerCo", "Sizzle Burger Co"),
        ("@NoodleLabEats", "Noodle Lab"),
    ],
    complaint="""
1| ordered a burger with no onions. it was mostly onions
0| thanks for the raw croissants this morning, lovely and doughy 🙃
waited 50 min for a takeaway I ordered for collection "in 15"
2| found a hair in my noodles. lost my appetite completely
my order never arrived but the app says delivered. who do I call?
the Deansgate branch told us the kitchen was closed at 8:30. your website says 10
1| charged for large fries, got small. every. time.
0| my kid has a nut allergy and the staff had no idea what was in the cake. scary
cold food, soggy chips, missing drink. I want a refund
the table was sticky, the floor was sticky, even the menu was sticky
why are your portions getting SMALLER but your prices getting BIGGER??
sat for 25 minutes and nobody took our order
the vegan option had cheese in it. I'm vegan. great
booked a table for our anniversary and you'd given it away. not even an apology
2| food poisoning after the chicken ramen on Saturday. not ok
the manager was rude when I mentioned the missing side
1| burger came out pink in the middle. sent it back, came back burnt
0| birthday cake order was ready 2 hours late, the party had already started
loyalty app wiped all my points. 40 stamps. gone
SO SALTY. couldn't finish it
2| soup was lukewarm again. 3rd time
the queue at the Leith St branch went out the door and only one till open
2| broth was basically water tonight. used to be so good
wrong order again. I ordered chicken, got tofu. not even close
1| the delivery driver ate some of my fries. there were literally bite marks
Ordered for my daughter's 10th birthday party: 12 boxes, paid in advance, confirmed twice by phone. We turned up at the agreed time and nobody knew anything about it. Kids waiting at home, we ended up buying supermarket pizza. Still waiting for someone to call me back about the refund.
🤢
you've changed the recipe and it's not better. bring back the old one
the self-order kiosk took my money and didn't print an order
ur app keeps saying "restaurant busy" when the place is empty?? i'm literally outside
tiny portion for £14. daylight robbery
kept waiting at the counter while 3 staff chatted behind it
""",
    question="""
do you have gluten free options?
are dogs allowed in the garden area
need to know if the Leith branch takes bookings for 10
what time does the kitchen close on Sundays
0| can I order a custom cake for Saturday?
is the new spicy menu in all branches
1| are your burgers halal?
how do I add points to the app if I paid cash
do you deliver to Morningside
+ Thanks for an amazing dinner last night! Also, can I bring my dog next time?
2| is the chilli oil vegan
please DM me the allergen info for the kids menu
can we split the bill at the table
can we reserve the back room for a birthday
are you open on Christmas Eve
how long is the wait on a Friday night usually
do you cater for events? need food for 40
0| what's in the seasonal loaf this month
""",
    praise="""
2| best ramen in the city, no contest
1| that new smash burger 🤤🤤🤤
staff were so lovely with my grandad today. thank you
not bad at all for a quick lunch, will be back
never had a bad meal here in 6 years
0| your cinnamon buns are worth the 20 minute walk every single saturday
😋😋
I can't complain, food was hot and came early
thanks for making my son's birthday so special, the candle on the dessert was a lovely touch
delivery was lightning fast tonight and everything was perfect
honestly the nicest service I've had anywhere this year
obsessed with the new menu
big love to the Leith St crew, always smiling
""",
    favour="""
0| love you guys, any chance of a free cake for my mum's 60th? 🥺
it's my birthday!! free dessert? 🎂🎂
follow me back pls, I eat here every week
= are you hiring? I've got 3 years kitchen experience and I'd love to join the team
= promo code for the app? pretty please 🙏
1| I'm a food blogger with 20k followers, happy to review the new menu if you send some over 😉
= retweet this so my friend sees it 😂 she owes me a burger
2| pick me for the free noodles for a year comp!!
can you give my team a shout-out? we won the pub quiz and celebrated at yours 🏆
I've been a regular for years, surely that earns me a loyalty freebie 😇
notice me, I've literally got your logo tattooed. kidding. or am I
= any chance of sponsoring our kids football team? we'd put your logo on the shirts
""",
    other="""
ok will do, cheers
2| heading to the Leith branch after work 🍜
I did
- that jingle has been stuck in my head for 3 days. make it stop
my first job was at one of your branches lol
DM sent with my order number
lunch date with my nan today
#FoodieFriday
1| the burger emoji debate continues 🍔
+ 😂😂 that tweet
table for 4 tonight 7pm, see you there
yep got it
""",
)

# =============================================================================================
# CARS (0 EV maker, 1 dealer group, 2 used-car dealer)
# =============================================================================================
DATA["cars"] = dict(
    brands=[("@VoltaMotors", "Volta Motors"), ("@RidgelineAuto", "Ridgeline Auto"), ("@MotorMileCars", "MotorMile")],
    complaint="""
car's been at the dealer for 5 weeks waiting for a part. nobody can tell me when
0| charging app says 80%, car says 12%. which is it
thanks for the "free" service that cost me £340 in extras 🙃
brand new car and the infotainment screen reboots every 10 minutes
why does the service centre NEVER answer the phone??
salesman promised free mats and a full tank. got neither
the recall letter came 3 months after the fault was known. not good enough
0| range drops by half in the cold. that was not in the brochure
got my car back from service with a scratch on the door that wasn't there before
warranty claim rejected on a 14 month old car. seriously?
broke down on the motorway and the breakdown cover you sold me took 4 hours to turn up
2| the "certified pre-owned" car I bought has a slow puncture and a leaking sunroof
rattle in the dash since day one. three visits, still rattling
0| the over-the-air update turned off my heated seats?? in winter??
the finance deal they showed me isn't the one in the contract
paid a deposit in March and the delivery date keeps moving. now it's "Q3"
I want my deposit back, you've missed the delivery date three times
CHECK ENGINE LIGHT. AGAIN. 2 WEEK OLD CAR
courtesy car was filthy and had no fuel in it
rude receptionist at the Swindon branch
key fob died and a replacement is £280? on a 1 year old car?
0| the app won't unlock my car. stood in the rain for 20 minutes 😡
2| advert said 40k miles, logbook says 90k. explain
waited 2 hours for a 30 minute MOT I booked weeks ago
Bought my first new car from you in January and I was so excited. Since then it's been back in the workshop four times for the same electrical fault, I've had three different courtesy cars and nobody ever calls me back when they say they will. I'm starting to regret the whole thing.
wiper blades squeak like a haunted house. replaced twice
my car's been "ready tomorrow" for 9 days
sat nav sent me into a field lol. the maps haven't been updated since 2019
0| half the chargers listed in your app don't exist
nobody told me the service plan doesn't cover brakes. that's literally what it's for
booked a test drive, turned up, car wasn't there. wasted my afternoon
🤬 breakdown number 3
""",
    question="""
0| what's the real world range on the long range model?
how often does it need a service
do you do part exchange on vans
need to know if the Bristol dealer has a demo car I can test drive
can I book an MOT online
0| does the home charger come with installation?
is the 7 year warranty transferable if I sell
please DM me the number for the service desk
what tyre pressure should I run with a roof box
are you open Saturdays
how do i pair my phone with the new infotainment
2| is the blue estate on your site still available?
+ Thanks for the quick service today! Quick q, when is my next one due?
are there any EV grants left for business buyers
does the hybrid need plugging in
what's the towing capacity of the SUV
can my partner collect the car for me?
follow me so i can send you my reg privately
""",
    praise="""
0| 3 years, 60k miles, zero problems. best car I've owned
thank you to Mark at the Swindon branch, made buying my first car so easy
not bad at all, the new model drives really nicely
service was quick and they even washed it. lovely
never had an issue with any car I've bought from you
0| one-pedal driving is SO good 😍
I can't complain, the warranty sorted everything, no questions asked
🚗💨💨 love it
picked up my new car today, the team made it really special 🥹
roadside assistance came in 30 min at midnight. legends
the heated steering wheel is a life changer
honestly the most honest car dealer I've dealt with
thanks so much for the help sorting my finance!
""",
    favour="""
0| any chance of a free upgrade to the long range battery? asking nicely 😇
love my car! free service for my birthday? 🎂
follow back? been driving your cars for 20 years
= are you hiring apprentice mechanics? would love the chance
I'm a car YouTuber, would love to borrow one for a review 🙏
= can you RT this, my car was stolen last night and I need people to look out for it https://t.co/r8Tq2ZvL
enter me for the test drive giveaway please!!
= promo code for the accessories shop?
0| give a shout-out to our owners club pls, we're all {n} drivers
notice me, I've got your logo on my phone case lol
throw in some free floor mats and I'll sign today 😉
= would you sponsor my charity rally drive? we're raising money for the children's hospital
""",
    other="""
ok thanks, will wait for the call
booked in for tomorrow 10am
yes, reg is in the DM
driving up to Scotland this weekend, 600 miles let's go
- that ad with the talking car is so cringe
my dad's first car was one of yours, 1987
no, not yet
#EV #electriccar
waiting in the showroom now
+ 😂 the parking fail video
test drive on Saturday
done
""",
)

# =============================================================================================
# BANKING / FINANCE
# =============================================================================================
DATA["banking"] = dict(
    brands=[
        ("@HarborBank", "Harbor Bank"),
        ("@CoinleafFinance", "Coinleaf"),
        ("@NorthgateBS", "Northgate Building Society"),
    ],
    complaint="""
card declined at the supermarket with £600 in my account. embarrassing
app down on payday. every single payday. why??
been waiting 12 days for a chargeback decision
thanks for blocking my card abroad even though I told you I was travelling 🙃
someone took £450 from my account and your fraud team has been "looking into it" for 3 weeks
closed my local branch and now the nearest one is 40 miles away. thanks
£25 fee for going 50p overdrawn. disgusting
transfer to my landlord has been "pending" since Friday and he's threatening to evict me
on hold 90 minutes to report a stolen card. 90 minutes
the new app update logged me out and won't accept my passcode
mortgage application lost. twice. how do you lose a mortgage application twice
you refused my cheque because the signature is "slightly different". it's my signature
why is the only number I can call only open when I'm at work??
interest on my savings dropped AGAIN and no email about it
statement shows a payment I definitely didn't make
great, face ID broken again. love being locked out of my own money
you froze my business account with no warning. I can't pay my staff
staff at the High St branch talked to my mum like she was stupid
the cash machine ate my card and nobody in the branch can help
APP. DOWN. AGAIN.
card replacement was supposed to take 3 days. it's been 3 weeks
applied for a loan 6 weeks ago. no decision, no reply
you charged me an international fee on a UK website
closed account still sending me letters and fees. I want the fees refunded
My father passed away in March and I have been trying to close his account for five months. Every time I call I am asked for the same documents again, which I have sent three times by recorded post. Nobody seems to know who is handling it. It is exhausting at a time like this.
😡 direct debit failed for no reason
login verification text never arrives
my savings pot has vanished from the app. where is my money
the "instant" transfer took 3 days
your chatbot told me to visit a branch you closed last year
answered 6 security questions and still got locked out
so I have to pay for a paper statement now? seriously
""",
    question="""
how do I set up a standing order in the app
what's the daily limit for contactless
need to know the sort code for the Leeds branch
can I open a joint account online
do you charge fees for using my card abroad
please DM me the number for the mortgage team
how long does an international transfer to the US take
is the High St branch open Saturday mornings
how do i change the address on my account
can I freeze my card from the app for a bit
what documents do I need to open an account for my 16 year old
+ Thanks for sorting that so fast! Also, how do I add my new card to Apple Pay?
do you have an instant access ISA
is the interest paid monthly or yearly?
follow me so I can DM you my details
do you offer business accounts for sole traders
how do i get a copy of my statement from 2022
is it safe to give my account number to my new employer
""",
    praise="""
your fraud team caught a dodgy payment before I even noticed. thank you!
best banking app I've used, honestly
not bad at all, opened an account in 5 minutes
never had a problem with you in 15 years
the lady in the Leeds branch was so patient with my dad today
thanks so much for the help!
I can't complain, mortgage went through without a hitch
the savings pots have genuinely changed how I save 🙌
👏👏👏 great service today
refunded the scam payment within a day. so grateful
the instant notifications are so handy
shoutout to James on the phone line, sorted my card in 5 mins
switched last year and still happy
""",
    favour="""
love you guys, any chance you could waive my overdraft fee just this once? 🙏
free money? asking for a friend 😂
follow back pls, been banking with you since I was 12
= are you hiring graduates in your tech team? would love to apply
= any referral codes going? want the £50 bonus
pick me for the £1000 savings giveaway!! 🙏🙏
I run a money tips podcast, would love to partner with you
it's my birthday, any chance of a better interest rate as a present? 😇
= RT this please, our food bank needs donations https://t.co/d7Wn2Lpx
notice me, I'm your most loyal customer
shout-out for my first ever savings goal? 🎉
= could you sponsor our under-12s netball team? 🏐
""",
    other="""
DM sent
ok I'll pop into the branch tomorrow
yes that was me
going to the Leeds branch on Monday to open my son's first account
- your new ad with the dancing piggy bank is... a choice
my grandad kept his money under the mattress lol
no I haven't
#MoneyMonday
+ just paid off my car loan 🥳
logged in now
sent the documents by post today
ok
""",
)

# =============================================================================================
# STREAMING / MEDIA (0 TV streaming, 1 music streaming, 2 film streaming); unpinned -> 0 or 2
# =============================================================================================
DATA["streaming"] = dict(
    brands=[("@FlickWaveTV", "FlickWave"), ("@EchoTuneMusic", "EchoTune"), ("@ReelHouseStream", "ReelHouse")],
    rotate=[0, 2],
    complaint="""
buffering every 10 seconds on a 900mb connection. it's not my wifi
why do you keep removing shows halfway through a series??
price up AGAIN and now there are ads. incredible
charged for a month after I cancelled. I want that back
subtitles are 3 seconds out of sync on every episode
great, the app crashed during the final episode. love it 🙃
1| my playlists disappeared after the update. 8 years of playlists
can't log in on the TV, the code never works
"4K" looks like it was filmed on a potato
someone in another country is using my account and you won't help me get it back
1| shuffle plays the same 20 songs. every time
the password sharing crackdown locked out my own son at uni. he's on my plan
downloads get deleted after 48 hours even when I'm offline on a plane
DOWN AGAIN
audio and video out of sync for a week now
1| podcast episodes won't download on Android
you cancelled my favourite show on a cliffhanger. unforgivable
the "continue watching" row is full of stuff I finished months ago
the kids profile showed a horror trailer to my 6 year old
customer service just sends me a link to the help page
1| ads every 2 songs on the free plan is unbearable
app freezes on the Samsung TV every time I pause
billing email says one price, bank statement says another
search is useless. type the exact title, get 40 random results
Been paying for the family plan for six years. This month you suddenly told my mum she's "not in the household" because she watches at her own flat, and now she can't use it at all. She's 79 and it's her main entertainment. You could at least have warned us before locking her out.
😤😤 spinning wheel of doom
the live match stream cut out right at the penalty
1| lyrics feature gone?? why
thanks for autoplaying the next episode at full volume at 2am
I paid to rent a film and it expired before I finished it
why is everything "not available in your region" now
constant "too many devices" error when only one is on
""",
    question="""
when is season 3 coming?
1| how do I download songs to listen offline
can I change my plan mid-month
need to know if the ad-free plan works on 2 TVs at once
is the documentary available in Canada
please DM me how to remove a device from my account
1| does the student plan include podcasts
how do i turn on audio description
what's the difference between standard and premium
+ Loving the new season! Also, is there a behind the scenes episode coming?
can i gift a subscription to my brother
1| how do i make a collaborative playlist
do you support Dolby Atmos on the Fire stick
when does my free trial end?
is the live sport included or extra
how do I set a PIN on the kids profile
are the old episodes getting remastered?
follow me so I can DM you the email on my account
""",
    praise="""
the new docuseries is outstanding. well done
1| your year-in-review is the highlight of my December 😍
never had an issue streaming with you in years
not bad at all, the new interface is way cleaner
binged the whole thing in 2 days, no regrets
1| your weekly mix knows me better than my friends do
I can't complain, picture quality is amazing now
🍿🍿🍿 best Friday night
thanks so much for fixing my account so fast!
the kids profile is brilliant, finally I can relax
offline downloads saved my 12 hour flight 🙏
whoever picked the soundtrack for this show deserves a raise
top tier recommendations lately 👌
""",
    favour="""
any chance of a free month? I've been subscribed since launch 🥺
love you guys, got any promo codes for premium?
follow back?? huge fan
are you hiring in your content team? I'd kill to work on trailers
1| I'm an indie artist, could you add my song to one of your playlists? 🙏 https://t.co/h2Rk7Lm1
pick me for the premiere tickets giveaway!!!
= RT my fan art please 🎨
it's my birthday, upgrade me to premium for a day? 🎂
notice me, I've watched every single show you've made
I review shows on TikTok (40k), send me early access? 😎
= give a shout-out to my film club pls, we're watching your new doc tonight
surely 10 years of loyalty deserves a free upgrade to 4K 😇
""",
    other="""
ok will do
watching the finale tonight with the whole family
yes I have
- enough with the ads for that reality show, I get it
the theme tune is my ringtone now lol
logged out and back in
#TrueCrime
+ 😂😂 the meme account is undefeated
watched it on the train this morning
no
DM sent
1| listening to the 90s mix while cleaning
""",
)

# =============================================================================================
# DELIVERY / LOGISTICS
# =============================================================================================
DATA["delivery"] = dict(
    brands=[("@SwiftParcel", "SwiftParcel"), ("@ParcelPointUK", "ParcelPoint"), ("@RapidRouteCourier", "RapidRoute")],
    complaint="""
thanks for losing my parcel AGAIN 👏
tracking says delivered. it's not here. neighbours don't have it. who do I call?
driver threw my parcel over the gate. it was marked FRAGILE
parcel stuck at the depot for 8 days
why does the tracking ALWAYS say "out for delivery" and then nothing??
"we tried to deliver" no you didn't, I was home all day with the doorbell camera on
left my parcel in the recycling bin. the bin was emptied this morning
3 missed redelivery dates in a row. I've taken 3 days off work for this
the box was opened and resealed with tape, half the stuff missing
I paid for next day delivery, it's been 4 days. refund the delivery fee please
customs fee of £38 on a £20 item and nobody told me
the chatbot can't understand "my parcel is lost"
photo proof of delivery shows a door that isn't mine
your driver was really rude to my elderly neighbour
the pickup point you sent my parcel to closed down months ago
paid for a 9-12 slot, it came at 6pm. useless
WHERE IS MY PARCEL
claim form has been "under review" for 6 weeks
my parcel has been to Glasgow and back twice. I live in Bristol
collected a return from me and then charged me for not returning it
van parked across my drive for 40 minutes
tracking number doesn't work on your own website lol
great, parcel left in the rain again. soggy birthday present
drivers keep leaving parcels with the guy at no. 12 who never gives them back
Sent my grandmother's 90th birthday present with your "guaranteed" service two weeks ago. It has been "in transit" ever since. The claims line says I have to wait 15 working days before I can even report it lost. The party was on Saturday. I just want somebody to tell me where it is.
📦❌😡
can't book a collection, the website errors at the last step every time
signature required delivery, left on the doorstep anyway
"delayed due to unforeseen circumstances" for the 5th day in a row
the locker won't open with my code
charged me twice for the same label
why do you need a 6 hour window and still miss it??
""",
    question="""
do you deliver on Sundays?
how much to send a 5kg parcel to Spain
need to know if I can change the delivery day online
can you leave parcels in a safe place if I'm out?
what's the biggest box I can drop at a locker
please DM me my collection reference
how do i print a label without a printer
do you deliver to the Channel Islands
can someone else sign for my parcel
what time do drivers usually finish on Saturdays
+ Thanks for the quick delivery! Also, can I reuse the box for a return?
is there insurance on parcels worth over £100
how do i redirect a parcel to my work address
do you collect from home or do I need to drop it off
where's my nearest drop-off point in Harrogate
is tracking included on the cheapest option
follow me so I can DM my tracking number
what counts as a prohibited item? I'm sending perfume
""",
    praise="""
driver waited while I ran down 4 flights of stairs. what a legend
parcel arrived a day early 🙌
never had a lost parcel with you in years
not bad at all, the tracking is actually accurate now
no problems at all, dropped it at a locker in 30 seconds
thanks so much for finding my lost parcel!
I can't complain, everything turns up on time
the live map of the driver is genuinely brilliant
shoutout to our regular driver Tom, always cheerful
📦😍
customer service sorted my redelivery in one message
cheapest and fastest I've found
packed super carefully, nothing broken. thank you
""",
    favour="""
any discount codes for sending parcels? running a small Etsy shop 🙏
follow back? I use you for every order
= are you hiring drivers in Leeds? looking for work
love you guys, free delivery for my birthday week? 🎂
= RT please, my lost dog was last seen near your Bristol depot https://t.co/w4Lk9Pm2
my shop ships 500 parcels a month, fancy sponsoring us? 🤝
pick me for the free shipping for a year competition!
give our driver Tom a shout-out, he deserves it 💪
notice me 📦📦
could you upgrade my parcel to express for free? it's for my mum's birthday 🥺
= promo code for the business account pls
send me one of those hoodies the drivers have 😂
""",
    other="""
sent you a DM with the tracking number
ok will wait in
yes
sending 40 parcels tomorrow for the Christmas rush
- that christmas ad with the flying van 🙄
my brother drives for you
picked it up from the locker
#SmallBusiness #ShopLocal
done
+ the van with the googly eyes in Leeds 😂
working from home tomorrow so I'll be in
no I haven't
""",
)

# =============================================================================================
# UTILITIES (0 and 2 energy, 1 water); unpinned -> energy
# =============================================================================================
DATA["utilities"] = dict(
    brands=[
        ("@BrightGridEnergy", "BrightGrid Energy"),
        ("@ClearSpringWater", "ClearSpring Water"),
        ("@EmberHomeEnergy", "Ember Home Energy"),
    ],
    rotate=[0, 2],
    complaint="""
power cut for 6 hours and no updates on your site
my bill went from £90 to £340 with no change in usage
smart meter hasn't sent a reading in 8 months and now you've estimated me double
1| brown water from the tap since this morning. again
why is your phone line ALWAYS "experiencing high call volumes"??
thanks for the "credit" of 12p after a 2 day outage 🙃
direct debit went up without warning, now I'm overdrawn
engineer booked to fit the smart meter, never showed
1| burst main on our street for 4 days, road still flooded
moved out in April, still getting bills for the old flat
I want compensation for 3 days without heating. I have a newborn
you switched my tariff without asking
app shows my balance as -£1,200. I'm in credit
on hold 2 hours just to give a meter reading
1| low water pressure for a month, the shower is a trickle
the "fixed" price went up. that's the opposite of fixed
NO POWER. NO ANSWERS.
got a letter threatening to cut me off over a bill I paid
prepayment meter keeps rejecting my top-up
refund of my credit balance promised "within 10 days". It's been 2 months
1| sewage smell on the whole street and nobody's come out
you installed the meter in the wrong place and now I can't open my cupboard
my complaint reference number doesn't exist apparently
great, another "planned outage" on a work day. love it
My 84 year old mum is on your priority register. The power went off at 9pm last night and nobody called her, nobody checked in, and your outage line just played a recording. She sat in the dark with no heating until this morning. What is the priority register actually for?
🥶🥶 no heating for 3 days
email says one thing, letter says another, phone says a third
1| hosepipe ban but you're leaking millions of litres a day. make it make sense
your website won't let me submit a reading, errors every time
charged a cancellation fee when you were the ones who put the price up
smart meter display has been blank since the day it was fitted
engineer left a hole in my wall and mud all over the carpet
""",
    question="""
how do I submit a meter reading online
is there a planned outage in Hove this week?
need to know if you have a tariff for electric cars
1| is the tap water safe to drink after the repairs on our road
can I switch to paper bills
what's the number to report a gas leak
please DM me my account number
how do i move my account to a new address
do you offer payment plans
when will my smart meter be upgraded to the new type
+ Thanks for the quick reconnection! Also, how do I read the new meter?
1| can I get a water meter fitted
is the warm home discount open yet
how often should I send readings
what's your cheapest fixed tariff right now
do I need to be home for the meter install
follow me so I can DM you my details
are solar export payments included on my tariff?
""",
    praise="""
power back on in 40 minutes, thank you to the crews out in the storm
engineer was brilliant, explained everything
never had an issue in 10 years with you
not bad at all, the new app is actually useful
thanks so much for the help setting up my payment plan
1| crew fixed the leak on our road overnight. impressive
I can't complain, bills have been spot on all year
the outage map is really accurate now, well done
💡💡 back on! great work
so helpful on the phone today, thank you Sarah
the EV tariff has halved my costs. love it
switched last month, smoothest switch ever
respect to your engineers working on Christmas day
""",
    favour="""
any chance of a free smart thermostat? 🙏
love you guys, can you knock something off my bill as a birthday present? 🎂
follow back pls!
= are you hiring apprentices? my son wants to be an engineer
= promo code for new customers? I'm switching my mum over
pick me for the free year of energy!! 🙏🙏
= RT this please, we're collecting blankets for the shelter https://t.co/z8Qr1Yt5
= could you sponsor our village fete? we need a generator lol
give our street party a shout-out? 🎉
notice me, I read my meter every single day 😂
I'm an energy saving blogger, would love a partnership 🤝
any chance of a free boiler service? been with you 15 years
""",
    other="""
reading sent
ok will do
yes
moving house next month
- another energy saving tips ad 🙄 we get it
my grandad used to read meters for you in the 70s
it's back on now
#StormWarning
DM sent
+ the lightbulb mascot in the new ad 😂
no
on my way home to check the meter
""",
)

# =============================================================================================
# TRAVEL / HOTELS (0 and 1 hotels, 2 package holidays); unpinned -> hotels
# =============================================================================================
DATA["travel"] = dict(
    brands=[
        ("@SeasideSuitesHotel", "Seaside Suites"),
        ("@WanderNestStays", "WanderNest"),
        ("@GlobeHopTravel", "GlobeHop Travel"),
    ],
    rotate=[0, 1],
    complaint="""
room wasn't ready until 7pm. check-in is 3pm
booked a sea view, got a view of the bins
why does your booking site ALWAYS show a different price at checkout??
thanks for the "quiet room" right next to the lift shaft 🙃
mould in the bathroom and a broken AC. for £220 a night
my booking disappeared. turned up at midnight with 2 kids and no room
charged a "resort fee" that was never mentioned
2| package holiday cancelled 2 days before and still no refund after 6 weeks
the pool was closed the whole week and nobody told us
reception staff laughed when I complained about the noise
still waiting for my deposit back, checked out 3 weeks ago
the wifi in the rooms doesn't work at all
2| the transfer to the hotel never turned up. paid £60 for a taxi
booked twin beds, got a double. I'm travelling with my brother lol
you cancelled my booking and now the same room costs double. I want the difference covered
breakfast ran out at 8:30
DIRTY SHEETS
noise from the bar until 3am every single night
the pictures online must be from 2005
2| our flight times changed on the package and nobody emailed us
app says I've got 2 nights booked, hotel says 1
key card stopped working 4 times in one stay
cancellation policy said free, you charged me £150
great, another "system issue" at check-in. 45 min queue
2| We saved for two years for our honeymoon and booked it through you. When we arrived the hotel had no record of us, your emergency line went to voicemail, and we spent our first night in a hostel. We've come home to an email offering a 10% voucher. Honestly heartbroken.
😡🛏️
parking was £30 a night and not mentioned anywhere
the "spa" was a hot tub in a cupboard
cockroach in the room. moved rooms, another cockroach
loyalty points from my last 4 stays were never added
housekeeping walked in on me twice despite the do not disturb sign
2| the "all inclusive" didn't include drinks. what.
""",
    question="""
do you allow dogs?
what time is check-in
need to know if the Brighton hotel has parking
can I request an early check in
is breakfast included in the standard rate
please DM me my booking confirmation
2| do your packages include travel insurance
how far is the hotel from the station
is there a cot available for a baby
+ Had an amazing stay, thanks! Also, can I book the same room for next year?
can I pay at the hotel or only online
do you have accessible rooms with a roll-in shower
2| do I need a visa for the Morocco trip
how do I add a night to my booking
is the rooftop bar open to non-guests
what's the cancellation deadline on the flexible rate
follow me so I can DM my booking ref
are there family rooms for 2 adults and 3 kids
""",
    praise="""
best hotel stay I've had in years, the staff were wonderful
no problems at all, checked in online and went straight to the room
never had a bad stay with you
not bad at all for a budget hotel, super clean
the surprise upgrade on our anniversary made our week 🥹 thank you
2| everything ran like clockwork on our Italy trip, thank you
I can't complain, great value
🌅😍 that view
the breakfast buffet was unreal
thank you to the night porter who found my lost passport
comfiest bed ever. slept 10 hours
2| the kids club was amazing, the kids didn't want to leave
thanks so much for sorting our transfer last minute!
""",
    favour="""
love this place, any chance of a free upgrade for our anniversary? 🥂
it's my 30th next week, any birthday treat if I book? 😇
follow back pls, I stay with you every trip
= are you hiring seasonal staff for the summer?
= promo codes? planning a big family trip
I'm a travel influencer (60k), would love a hosted stay in exchange for content 📸
pick me for the free weekend giveaway!! 🙏
RT our wedding photos from your terrace?? 💍 https://t.co/f6Gk2Lp9
late checkout for free? just this once 🙏
notice me, I've stayed 27 times 😅
shout out my mum and dad, 40 years married and celebrating with you this weekend 🎉
throw in a free spa session and I'll book tonight 😉
""",
    other="""
checked in now
ok will do
yes, the booking is under my surname
heading to the Brighton hotel tomorrow for a work thing
- the jingle in the TV ad 😩 make it stop
+ first holiday in 4 years 🎉
DM sent
#travel #wanderlust
on the train now
no
+ the photo of the hotel cat 😂
here for a conference all week
""",
)

# =============================================================================================
# HOME SERVICES (0 plumbing, 1 electrical, 2 cleaning)
# =============================================================================================
DATA["home-services"] = dict(
    brands=[
        ("@QuickFixPlumbing", "QuickFix Plumbing"),
        ("@SparkRightElectric", "SparkRight Electrical"),
        ("@TidyNestCleaning", "TidyNest Cleaning"),
    ],
    complaint="""
0| plumber came, looked at the leak, charged a £90 call-out and left. leak still there
nobody showed up for the 8am slot. took the day off for this
2| the cleaners missed the whole bathroom
why is it IMPOSSIBLE to get anyone on the phone??
1| electrician left bare wires hanging out of the wall
0| thanks for flooding my kitchen 🙃
quote said £200, invoice says £480
0| boiler "fixed" on Monday, broken again on Tuesday
2| they broke a vase and said nothing, I found the pieces in the bin
booked 3 weeks ago, cancelled the morning of
muddy boot prints all over my cream carpet
1| the new socket trips the whole house every time
rude on the phone when I asked why they were 3 hours late
I want my call-out fee back, the engineer didn't even bring the right part
0| toilet still running after 2 "repairs"
2| the cleaner used bleach on my wooden table. ruined
no receipt, no invoice, no reply to my emails
WHERE IS THE ENGINEER
1| outdoor lights fitted crooked and the timer doesn't work
still waiting for the guarantee paperwork 6 months later
left the job half done and went off to another one
0| you double booked me, sent two plumbers, then charged me for both
gutters "cleaned" but still full of leaves
app says booking confirmed, office says no booking exists
0| Booked an emergency plumber at 7am because water was coming through the ceiling. Was told 2 hours. Called four times and each time "he's on the way". Nobody arrived until 4pm, by which point the ceiling had come down. I'm now looking at a £3k repair and all I've been offered is 10% off.
😤 3rd no-show
1| my smoke alarms go off every time I use the toaster since you replaced them
why do you need a 4 hour window AND still turn up late
2| cleaner turned up 2 hours late and rushed everything
paid a deposit for a bathroom fit and nobody has contacted me since
your guy smoked in my garden without asking
0| radiator's leaking worse than before the "fix"
""",
    question="""
do you cover Stockport?
0| how much is a boiler service
need to know if you do weekend callouts
1| can you install an EV charger at home
2| do I need to provide the cleaning products
0| please DM me a quote for fitting 3 radiators
what's your cancellation policy
1| are your electricians Part P registered
can I book online or do I need to call
0| + Thanks, the new tap is great! Also, do you fit outdoor taps?
2| how long does an end of tenancy clean take
do you offer fixed price quotes
is there a guarantee on the work
2| how much notice do you need for a deep clean
do you take card payments on the day
1| roughly how long does rewiring a 3 bed take
follow me so I can DM my address
what areas of Manchester do you cover
""",
    praise="""
0| plumber arrived in 30 min and fixed it in 10. lifesavers
2| house is SPARKLING 😍
never had an issue, used you for 5 years
not bad at all, tidy work and a fair price
1| the electrician was so patient explaining everything to my dad
thanks so much for the help today!
I can't complain, on time and tidy
2| the oven looks brand new. how??
honest and reliable, rare these days
0| quote was spot on, no surprises
2| ✨✨✨
0| shoutout to Gary, best plumber in Leeds
the booking app is so easy
""",
    favour="""
0| any chance of a free boiler check? first time customer 😇
love your work, discount for a repeat customer? 🙏
follow back pls!
1| = are you taking on apprentices? my daughter wants to train as an electrician
2| = promo code for a first clean?
pick me for the free bathroom makeover comp!! 🛁
= RT please, my mum needs a good cleaner in Leeds and I trust your lot
I'm a home renovation TikToker, would love to collab on my next project 🔨
2| birthday treat for me? a free oven clean would be the best present 😂
0| give a shout-out to our new café? you did all the plumbing 😊
notice me, I recommend you to literally everyone
any spare fridge magnets? my kid collects them lol
""",
    other="""
ok see you Tuesday
yes, 14 Park Road
DM sent with photos
renovating the kitchen this summer, wish me luck
0| - that ad with the dancing plumber 😬
0| my dad was a plumber for 40 years
no, not yet
#DIY #homeimprovement
he's here now
0| + 😂 the plunger meme
done
key's under the mat as agreed
""",
)

# =============================================================================================
# GAMING
# =============================================================================================
DATA["gaming"] = dict(
    brands=[
        ("@IronValeGames", "Iron Vale Games"),
        ("@PixelPeakStudios", "PixelPeak Studios"),
        ("@QuestLineOnline", "QuestLine Online"),
    ],
    complaint="""
servers down AGAIN on launch weekend 😡
why is matchmaking ALWAYS broken after an update??
paid £70 for a game that crashes on the main menu
thanks for wiping my 200 hour save 🙃
banned for "cheating" when I've never cheated. appeal ignored
bought the battle pass, rewards never unlocked
lag is unplayable on EU servers
the new patch nerfed everything that was fun
loot boxes in a game for kids. disgraceful
refund rejected after 20 minutes of playtime. it doesn't even launch properly
my account got hacked and support wants a receipt from 2017
constant disconnects in ranked, lost 200 points
GAME BREAKING BUG STILL NOT FIXED
charged twice for gems. want the money back
the "remaster" looks worse than the original
controller support on PC is completely broken
voice chat is full of abuse and reporting does nothing
6 month delay and it STILL launched broken
my preorder bonus never showed up
great, another 40GB update. love it
can't even log in, "error 0x4452" for 3 hours
progress doesn't carry over between console and PC like you promised
frame drops every time more than 5 players are on screen
3 years of season passes and now you're shutting the servers. I want refunds
I've played this game every day since the beta and spent more on it than I'd like to admit. The last update broke crafting, wiped half my inventory, and support has closed my ticket twice without reading it. I'm not asking for anything special, just for the stuff I paid for to be put back.
🤬🎮
the tutorial is literally unskippable. 40 minutes for every new character
cross-play party invites never work
you removed my favourite map from the rotation. why
stuck on a black loading screen on PS5
support bot just says "please restart your game"
the price of the new skin is insane for what it is
""",
    question="""
when does season 4 start?
is cross-save coming to Switch
need to know if the DLC is included in the deluxe edition
how do I link my console account
will there be a PC release
please DM me how to reset my 2FA
what are the minimum specs
can I transfer my save from PS4 to PS5
is there a split screen mode
+ Loving the update! Also, is the new map coming to ranked?
how do i report a player
when is the next patch dropping
does the collector's edition ship worldwide
what time are the servers back up
what's the age rating on the new game
how do i change my username
follow me so I can DM you my account ID
can I play offline
""",
    praise="""
best game I've played this year, hands down
the new update is 🔥🔥🔥
no problems at all on launch day, smooth as butter
not bad at all, the new mode is really fun
thanks so much for restoring my account!
500 hours in and I still love it
I can't complain, the devs actually listen
the soundtrack in the final boss fight gave me chills
never had an issue with your servers, respect
the accessibility options are amazing, finally my son can play with me
GOATED update
😍🎮
support fixed my missing items in 1 day. legends
""",
    favour="""
can I get a free beta key?? pleaseee 🙏
love the game, any chance of a free skin for my birthday? 🎂
follow back!! I've played since day one
are you hiring QA testers? I'd literally do it for free
I stream your game daily to 3k viewers, would love to be a partner 🎮
= RT my clip pls, best play of my life 😂 https://t.co/g7Hs3Wq1
pick me for the console giveaway!!! 🙏🙏🙏
shout-out to my clan? we just hit 100 wins 🏆
notice meeeeee
= drop some codes for the new skin 👀
= sponsor my esports team? we're rookies but we're good
a free season pass for my loyalty would be nice 😇
""",
    other="""
ok will try that
yes on PS5
DM sent
playing with the squad tonight 🎮
- the trailer voice actor is so cringe lol
+ my cat walked on the controller and bought a skin 😂
no
#gaming #streamer
downloading now
+ lmao the dev stream 😂
installed
GG
""",
)

# =============================================================================================
# AIRLINES (a smaller share: the human-labelled data already covers airlines)
# =============================================================================================
DATA["airlines"] = dict(
    brands=[("@AzureWingsAir", "Azure Wings"), ("@CoralJetAir", "CoralJet")],
    complaint="""
delayed 3 hours at the gate and not one announcement
thanks for losing my suitcase on the way to a wedding 🙃
cancelled my flight with 2 hours notice. I want a full refund, not a voucher
crew were rude when I asked for water for my toddler
paid for extra legroom and the seat was broken, wouldn't even stay upright
why is your website ALWAYS down when I try to check in??
my case came out ripped with a wheel missing
missed my connection because of your delay, now sleeping on the airport floor
on hold 2 hours to change a flight that YOU changed
charged £60 for a bag that fits in the sizer. staff didn't even check
my wheelchair assistance never turned up
great, another "technical issue". love spending my birthday at gate 14
no veggie meals left, again
the app kept my old seat even after I paid to change it
GROUND STAFF LOST MY CAR SEAT
refund promised 6 weeks ago. still nothing
Our flight was cancelled at 11pm, we were told to find our own hotel and rebook online, but the website kept crashing. Stood in a queue until 3am with two exhausted kids. I want compensation for the hotel and meals, and an explanation.
😡✈️
entertainment screen broken on a 9 hour flight
boarding was total chaos, nobody in charge
you gave my upgrade to someone else at the gate after I paid for it
the promo code you emailed me doesn't work and the price went up while I tried it
I was promised a meal voucher for the delay and never got one
followed you like you asked and still no reply to my DM after 2 days
""",
    question="""
do you fly to Lisbon from Leeds
how many bags can I bring on the basic fare
need to know if I can take my guitar in the cabin
can I change the name on my booking
please DM me my booking reference
is the 7am to Dublin on time
+ Thanks for a great flight! Also can I bring my dog next time?
what's the baggage allowance for infants
how early should I get to the airport for an international flight
follow me so I can DM my booking details
is there a fee to pick my seat in advance?
how do I add my frequent flyer number to a booking I already made
can you follow me so I can send my confirmation number? need to add a bag
where do I find the promo code box on the app?
does the 50% off sale include flights in August?
can I use the travel voucher you sent me on a flight for my partner?
what time does the check in desk open in Manchester?
can I pay for an upgrade at the gate or only online?
what's the deal with the birthday discount, does it apply to return flights?
""",
    praise="""
smoothest landing ever, the captain deserves a medal
crew were amazing with my nervous daughter today, thank you
no problems at all, early both ways
not bad at all for a budget airline
never had an issue flying with you
✈️😍
I can't complain, on time and friendly
thanks so much for the help rebooking!
""",
    favour="""
great flight, can you follow me back? ✈️
love you guys, any chance of a free upgrade on my honeymoon flight? 💍
it's my birthday tomorrow and I'm flying with you, any treats? 🎂
are you hiring cabin crew? it's my dream job
= any promo codes for the summer sale?
pick me for the free flights giveaway 🙏
RT please, flying home to see my family for the first time in 3 years ❤️
I'm a travel vlogger, sponsor my next trip? 📹
first time flying business next week, any chance you could make it extra special? 🥂
can I get some free miles for being such a loyal customer?
follow back pls!! been flying with you since I was 5
would love a shoutout, it's our 10th anniversary trip today 💕
my son wants to be a pilot, could he visit the cockpit after we land? 🧑‍✈️
any discount codes for students?? broke but want to see my gran
please notice me, I've tweeted you 20 times 😭
retweet this so my mum sees I landed safe 😂
got any spare vouchers lying around? asking for me
pls upgrade me I have really long legs 🦒
hey how do I enter the win a trip competition? I NEED this
we're getting married on your flight to Vegas!! any surprise for the happy couple? 👰🤵
hiring pilots? I've got 300 hours and a lot of enthusiasm
5k followers and I fly with you every month, collab? ✨
can my daughter get a pair of pilot wings, it's her first flight 🥺
I'll fly with you forever if you send me a free companion ticket
shout out to the crew of flight 220 please and give me a follow while you're at it
free wifi code for a loyal flyer? 👀
any chance of lounge access as a birthday present to myself? 🎉
DM me a promo code and I'll book today
would you sponsor our school's charity trip? we're raising money for the children's ward
upgrade me to first and I'll write you a song 🎸
can you send me one of those little model planes? collecting them all
love your ads 😍 now how about a free flight to go with them
""",
    other="""
boarding now
ok will do
I'm on the 7:40 to Malaga tomorrow
DM sent
- the safety video rap 😬
yes
#AvGeek
just followed you
the giveaway winner is my cousin, so happy for her 😂
landed. home sweet home
- your new ad is everywhere on my timeline
my dad worked for you for 30 years, retiring today
watching the planes from the terrace while I wait for mum
""",
)

# =============================================================================================
# GENERIC posts that fit any brand; each is given to a (non-airline) brand in turn.
# Emoji-only, hashtag-only, replies, rhetorical questions, shout-outs and the like.
# =============================================================================================
GENERIC = dict(
    complaint="""
😡
😡😡😡
👎
🤬🤬
🙄🙄🙄 still waiting
#fail
#disappointed #neveragain
NOT HAPPY
WORST. SERVICE. EVER.
absolutely shocking customer service today
soooo disappointed 😞
been waiting 2 weeks for a reply, hellooooo??
great customer service as always... 4 days and no reply 🙃
thanks for nothing
love being ignored by a company I pay every month 👏
your complaints form doesn't work. of course it doesn't
5 emails. 0 replies.
how hard is it to answer one simple email??
why do I have to explain my problem to 4 different people??
worst experience I've had with any company this year
honestly never using you again
stop sending me marketing emails when you can't fix my actual problem
your reply was copy-paste. read my message please
you said you'd call me back today. you didn't
you closed my complaint without fixing anything
ur customer service is a joke tbh
terrible terrible terrible
still no update?? it's been a week
unbelievable. absolutely unbelievable how you've handled this
I'd give zero stars if I could
so that's how you treat loyal customers. noted
10 years a customer and this is how I'm treated??
the "live chat" is a bot that can't understand a single thing
is anyone actually working there?? 3 days, no reply
do you even read these?? still nothing fixed
not impressed at all with how this was handled
~ wow. just wow. {b} have outdone themselves with the worst response yet 🙃
you should be ashamed of how you treat people
"we value your feedback" and then you ignore it 😂
still waiting for my refund. day 30. 📅
""",
    question="""
do you have a customer service email?
what are your opening hours over Christmas
is there a phone number I can call
how do i update the email address on my account
where can I find your terms and conditions
are you on whatsapp
what's the best way to contact you
hi, quick question, are you open tomorrow
can I pay with PayPal
do you have an app?
how do i delete my account
where can I leave a review
is this the official account?
do you reply to DMs here?
what's your head office address
could you DM me? I've got a question about my account
how do I change my marketing preferences
~ anyone know if {n} has a loyalty scheme?
when do the new prices start
do you do gift cards
how do I get a VAT receipt
hey, is the customer service team back from the holidays yet
who should I contact about accessibility needs
do you have a UK phone number or is it online chat only
hi!! how long do you normally take to reply to emails?
""",
    praise="""
😍😍😍
🙌
❤️❤️
👏👏
😊
💯💯
#lovethem
#customerforlife
love you guys ❤️
you're the best!!
amazing service as always
thank youuuuu 🙏
thanks so much for the help!
cheers for sorting that so quickly
10/10 would recommend
honestly the best customer service I've ever had
keep doing what you're doing
you never let me down
had zero issues, all good 👌
nothing to complain about, genuinely
couldn't be happier
5 stars ⭐⭐⭐⭐⭐
impressed, didn't expect that
your social team is hilarious AND you actually help people
WOW that was fast, thank you!!
thank you for being so patient with me today
so glad I switched to you
no complaints from me 👍
not one problem since I joined. impressive
~ big thanks to {b}, top notch as always
""",
    favour="""
follow me back please!! 🙏
pls follow back ❤️
can I get a follow? been a fan for years
notice me 🥺
= RT this if you love your customers 😂
= retweet for a retweet? 😅
shout me out pleaaaase
any free stuff going? 😂
= got any freebies?
= discount code?? 👀
= promo code pls 🙏
is there a giveaway coming? I need to win something in my life 😂
enter me in the giveaway!!
pick meeee 🙋‍♀️
= #giveaway #competition #win
I'd love to work for you one day, are you hiring?
just applied for a job with you, fingers crossed!! put in a good word? 🤞
= do you sponsor small content creators?
let's collab! DM me 📩
love you guys, any chance of a little freebie? 😇
big fan, can I get some free merch? 🙏
it's my birthday!!! 🎂 a birthday surprise would make my day
birthday shout-out for my mum? she loves you 😂
please can I have a sticker 🥺
you should send me something nice for being such a loyal customer 😇
tweeting you every day until you follow me back 😂
one follow would make my whole year
can you reply so my friends believe I know you 😂
~ hi {b}, say hi to my class! we're doing a project on you 👋
I'd make an amazing brand ambassador, just saying 😎
= DM me about sponsorships pls, 25k followers 📈
free stuff for the first 10 replies? 👀
sending good vibes your way, now send me a discount 😂
y'all got any vouchers?? 🙏
can u give me a shoutout on ur story pls
love love LOVE you, could I get a free upgrade? 🥹
I'll write you a poem for a promo code 😂
surely 6 years as a customer earns me a freebie 😇
need a win today, any chance of a giveaway? 🙏
can I be your intern? I'll bring snacks 🍪
""",
    other="""
🤔
👀
😂
lol
ok
okay thanks
yep
sure
I did
will do 👍
just followed you
#MondayMotivation
#ad
🤷
hmm
noted
check your DMs
replied to your email
just saw this
~ anyone else watching the football tonight?
+ happy friday everyone 🎉
+ ~ good morning {b} ☀️
first tweet, be nice 😅
~ make money from home!!! click here https://t.co/sp4mLnk9 {b}
~ 🔥 CRYPTO SIGNALS 🔥 join now https://t.co/xX9q2LwB {b}
tagging you because my friend said you'd find this funny 😂
your account popped up on my timeline
same
interesting
me reading this at 3am 👀
test
just seen your advert on the bus
what a week 😅
haha fair enough
DM'd you
yes that's right
no worries
sorry, wrong account 😅
~ my sister just started a new job at {n} 🎉
still on my lunch break lol
""",
)

LINE_RE = re.compile(r"^(?:(\d)\| )?(?:([+=-]) )?(~ )?(.*)$")


def parse(block: str) -> list[tuple[str | None, bool, int | None, str]]:
    """Return (sentiment override, no_handle, pinned brand index, text) for each non-empty line.

    Prefix order: ``N| `` (pin), then ``+ ``/``- ``/``= `` (sentiment), then ``~ `` (no handle).
    """
    out = []
    for raw in block.strip("\n").split("\n"):
        line = raw.strip()
        if not line:
            continue
        pin, sent, tilde, text = LINE_RE.match(line).groups()
        text = text.strip()
        assert text and not re.match(r"^(\d\||[+=~]\s)", text), f"bad prefix order: {line!r}"
        out.append((SENT[sent] if sent else None, bool(tilde), None if pin is None else int(pin), text))
    return out


class Placer:
    """Puts the brand handle into a post; mostly in front, sometimes at the end, rarely not at all."""

    def __init__(self) -> None:
        self.k = 0

    def __call__(self, text: str, handle: str, name: str, no_handle: bool) -> str:
        if "{b}" in text or "{n}" in text or no_handle:
            return text.replace("{b}", handle).replace("{n}", name)
        self.k += 1
        if self.k % 11 == 4:
            return f"{text} {handle}"
        if self.k % 23 == 9 and len(text) > 30:
            return text
        return f"{handle} {text}"


def build() -> list[dict]:
    place = Placer()
    rows: list[dict] = []
    for industry, spec in DATA.items():
        brands = spec["brands"]
        rotate = spec.get("rotate", list(range(len(brands))))
        turn = 0
        for key, (intent, default_sent) in INTENTS.items():
            for sent, no_handle, pin, text in parse(spec[key]):
                if pin is None:
                    pin = rotate[turn % len(rotate)]
                    turn += 1
                handle, name = brands[pin]
                rows.append(
                    dict(
                        text=place(text, handle, name, no_handle),
                        intent=intent,
                        sentiment=sent or default_sent,
                        brand=name,
                        industry=industry,
                    )
                )
    pairs = [(ind, b) for ind, spec in DATA.items() if ind != "airlines" for b in spec["brands"]]
    for p, (key, (intent, default_sent)) in enumerate(INTENTS.items()):
        for i, (sent, no_handle, _pin, text) in enumerate(parse(GENERIC[key])):
            industry, (handle, name) = pairs[(i * 5 + p * 7) % len(pairs)]
            rows.append(
                dict(
                    text=place(text, handle, name, no_handle),
                    intent=intent,
                    sentiment=sent or default_sent,
                    brand=name,
                    industry=industry,
                )
            )
    return rows


def check(rows: list[dict]) -> None:
    valid_intents = {v[0] for v in INTENTS.values()}
    for r in rows:
        assert r["intent"] in valid_intents, r
        assert r["sentiment"] in ("negative", "neutral", "positive"), r
        assert "{" not in r["text"] and "}" not in r["text"], r
        low = r["text"].lower() + " " + r["brand"].lower()
        assert not any(f in low for f in FORBIDDEN), r
    distinct = len({r["text"] for r in rows})
    assert len(rows) >= 1200, len(rows)
    assert distinct >= 1100, distinct


def table(counter: Counter, total: int) -> str:
    lines = ["| value | posts | share |", "|---|---:|---:|"]
    for k, v in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"| {k} | {v} | {100 * v / total:.1f}% |")
    return "\n".join(lines)


def summary(rows: list[dict]) -> str:
    n = len(rows)
    intents = ["complaint", "question", "praise", "favour-seeking", "other"]
    industries = list(DATA)
    out = [
        f"posts: {n}; distinct texts: {len({r['text'] for r in rows})}",
        "",
        "### per intent",
        table(Counter(r["intent"] for r in rows), n),
        "",
        "### per industry",
        table(Counter(r["industry"] for r in rows), n),
        "",
        "### per sentiment",
        table(Counter(r["sentiment"] for r in rows), n),
        "",
        "### intent x industry",
        "| industry | " + " | ".join(intents) + " | total |",
        "|---|" + "---:|" * (len(intents) + 1),
    ]
    cell = Counter((r["industry"], r["intent"]) for r in rows)
    for ind in industries:
        vals = [cell[(ind, it)] for it in intents]
        out.append(f"| {ind} | " + " | ".join(map(str, vals)) + f" | {sum(vals)} |")
    tot = [sum(cell[(ind, it)] for ind in industries) for it in intents]
    out.append("| **all** | " + " | ".join(map(str, tot)) + f" | {sum(tot)} |")
    out += ["", "### intent x sentiment", "| intent | negative | neutral | positive |", "|---|---:|---:|---:|"]
    cs = Counter((r["intent"], r["sentiment"]) for r in rows)
    for it in intents:
        out.append(f"| {it} | {cs[(it, 'negative')]} | {cs[(it, 'neutral')]} | {cs[(it, 'positive')]} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "data/train/intent-extra.jsonl"))
    args = ap.parse_args()
    rows = build()
    check(rows)
    random.Random(SEED).shuffle(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as f:
        for i, r in enumerate(rows, 1):
            rec = {"id": f"extra-{i:04d}", **r}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} posts to {out}")
    print(summary(rows))


if __name__ == "__main__":
    main()
