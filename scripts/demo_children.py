"""Synthetic children for the demo: one registration YAML file per child, none of them real.

Usage: demo_children.py OUT_DIR [COUNT]
Writes OUT_DIR/NN.yaml and prints, per line, the file name and the --at date to use.
"""
import random
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

FIRST_F = ["Achieng", "Wanjiru", "Amani", "Neema", "Zawadi", "Halima", "Nyambura", "Akinyi", "Imani", "Rehema", "Chebet", "Mwende"]
FIRST_M = ["Baraka", "Otieno", "Juma", "Kipchoge", "Mwangi", "Omondi", "Hamisi", "Kamau", "Wekesa", "Tumaini", "Kiprono", "Mutua"]
LAST = ["Odhiambo", "Njoroge", "Mutiso", "Wafula", "Chepkoech", "Barasa", "Muthoni", "Onyango", "Kariuki", "Achieng", "Ndungu", "Ali"]
PLACES = ["Nyalenda, Kisumu Central", "Manyatta, Kisumu East", "Obunga, Kisumu Central", "Kondele, Kisumu Central",
          "Mamboleo, Kisumu East", "Ahero, Nyando", "Maseno, Kisumu West", "Kibos, Kisumu East"]
LIVES = ["both_parents", "mother", "relatives", "relatives", "foster_family", "institution", "alone", "street", "mother"]
SOURCES = ["self", "family", "community_member", "volunteer", "authority", "service_provider"]
CONCERNS = ["neglect", "physical_abuse", "out_of_school", "child_labour", "street_connected", "abandonment",
            "psychosocial_distress", "sexual_abuse", "child_marriage", "health_or_disability"]
RISKS = ["immediate", "high", "high", "medium", "medium", "medium", "low", "low"]


def main() -> None:
    out = Path(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    rng = random.Random(2026)
    out.mkdir(parents=True, exist_ok=True)
    today = datetime.now(timezone.utc)
    for n in range(count):
        female = rng.random() < 0.5
        first = rng.choice(FIRST_F if female else FIRST_M)
        age = rng.randint(2, 17)
        child = {"name": f"{first} {rng.choice(LAST)}", "sex": "female" if female else "male",
                 "disability": rng.choice(["no", "no", "no", "yes", "unknown"])}
        if rng.random() < 0.7:
            born = date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
            child["date_of_birth"] = born.isoformat()
        else:
            child["age_estimate"] = age
        lives = rng.choice(LIVES)
        doc = {
            "child": child,
            "location": rng.choice(PLACES),
            "lives_with": lives,
            "identified_by": rng.choice(SOURCES),
            "concerns": rng.sample(CONCERNS, rng.randint(1, 2)),
            "risk": rng.choice(RISKS),
            "immediate_needs": rng.sample(["food", "shelter", "medical care", "school fees", "clothing"], rng.randint(0, 2)),
            "consent": {"child": "given", "caregiver": "given" if lives not in ("alone", "street") else "not_possible",
                        "explained": True},
        }
        if lives not in ("alone", "street"):
            doc["caregiver"] = {"name": f"{rng.choice(FIRST_F + FIRST_M)} {rng.choice(LAST)}", "relationship": "grandmother" if lives == "relatives" else "parent"}
        path = out / f"{n:02d}.yaml"
        import json  # JSON is YAML: no YAML library needed to write it
        path.write_text(json.dumps(doc, indent=2))
        morning = (today - timedelta(days=rng.randint(0, 60))).replace(hour=8, minute=0, second=0, microsecond=0)
        at = min(morning + timedelta(minutes=30 * rng.randint(0, 12)), today - timedelta(hours=1))  # office hours, never ahead
        print(f"{path}\t{at.isoformat(timespec='seconds')}")


if __name__ == "__main__":
    main()
