"""Golden for `semsearch eval ir` / `eval triplet` (tests/train/test_ir_eval.c, test_train_cli): a small BEIR-style
fixture (queries, corpus with titles, qrels with several relevant documents per query, a score-0 line, a query
without any relevant document, a qrels line naming a document not in the corpus) and a triplet file, scored by
sentence-transformers 2.7.0's own InformationRetrievalEvaluator and TripletEvaluator with all-MiniLM-L6-v2.

Run inside the reference venv:
    build/refvenv/bin/python tools/reference/make_ir_eval_golden.py
Writes tests/golden/train/ir/{queries.jsonl,corpus.jsonl,qrels.tsv,triplets.csv,expected.json}.
"""
import csv
import json
import os

from sentence_transformers import SentenceTransformer
from sentence_transformers.evaluation import InformationRetrievalEvaluator, TripletEvaluator

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "golden", "train", "ir")

CORPUS = [
    ("d1", "Photosynthesis", "Plants turn light, water and carbon dioxide into glucose and oxygen."),
    ("d2", "Chlorophyll", "The green pigment in leaves absorbs red and blue light for photosynthesis."),
    ("d3", "Paris", "Paris is the capital and largest city of France."),
    ("d4", "France", "France is a country in Western Europe; its capital is Paris."),
    ("d5", "Cats", "The domestic cat is a small carnivorous mammal kept as a pet."),
    ("d6", "Dogs", "Dogs were domesticated from wolves and are loyal companions."),
    ("d7", "Stock markets", "Share prices fell sharply on Monday as investors sold technology stocks."),
    ("d8", "Interest rates", "The central bank raised interest rates to fight inflation."),
    ("d9", "Python", "Python is a programming language known for its readable syntax."),
    ("d10", "C language", "C is a low-level programming language used for operating systems."),
    ("d11", "Mount Everest", "Mount Everest is the highest mountain above sea level, in the Himalayas."),
    ("d12", "", "The Nile is often said to be the longest river in the world."),
    ("d13", "Coffee", "Coffee is brewed from roasted coffee beans and contains caffeine."),
    ("d14", "Tea", "Tea is an aromatic beverage made by pouring hot water over cured leaves."),
    ("d15", "Football", "Association football is played by two teams of eleven players."),
    ("d16", "Tennis", "Tennis is a racket sport played against one opponent or two."),
    ("d17", "Vaccines", "A vaccine trains the immune system to recognise a pathogen."),
    ("d18", "Antibiotics", "Antibiotics kill bacteria but do not work against viruses."),
    ("d19", "Solar power", "Solar panels convert sunlight into electricity."),
    ("d20", "Wind power", "Wind turbines generate electricity from moving air."),
]
QUERIES = [
    ("q1", "how do plants make their food"),
    ("q2", "what is the capital of france"),
    ("q3", "which animals make good pets"),
    ("q4", "why did the stock market drop"),
    ("q5", "programming languages for systems"),
    ("q6", "highest mountain in the world"),
    ("q7", "drinks with caffeine"),
    ("q8", "ball games with teams"),
    ("q9", "how do vaccines and antibiotics work"),
    ("q10", "renewable energy sources"),
    ("q11", "a query nobody judged relevant"),
    ("q12", "hot beverages made from leaves"),
    ("q13", "which river is the longest"),
]
QRELS = [
    ("q1", "d1", 1), ("q1", "d2", 1), ("q2", "d3", 1), ("q2", "d4", 2), ("q3", "d5", 1), ("q3", "d6", 1),
    ("q4", "d7", 1), ("q4", "d8", 0), ("q5", "d10", 1), ("q5", "d9", 1), ("q6", "d11", 1), ("q7", "d13", 1),
    ("q7", "d14", 1), ("q8", "d15", 1), ("q9", "d17", 1), ("q9", "d18", 1), ("q9", "d99", 1),
    ("q10", "d19", 1), ("q10", "d20", 1), ("q11", "d5", 0),
    ("q12", "d13", 1), ("q13", "d11", 1), ("q13", "d20", 1),  # judgments that do not match the top hit
]
TRIPLETS = [
    ("how do plants make food", "Photosynthesis turns light into sugar.", "The stock market fell today."),
    ("capital of france", "Paris is in France.", "Berlin is the capital of Germany."),
    ("a small pet", "cats are small mammals", "a large truck"),
    ("coffee", "espresso is a strong coffee", "tea is brewed from leaves"),
    ("football", "soccer is played with a ball", "tennis uses a racket"),
    ("vaccines", "immunisation protects against disease", "the Nile is a long river"),
    ("solar energy", "the river flows to the sea", "panels turn sunlight into electricity"),
    ("python programming", "snakes are reptiles", "Python code is readable"),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "corpus.jsonl"), "w") as f:
        for cid, title, text in CORPUS:
            f.write(json.dumps({"_id": cid, "title": title, "text": text}) + "\n")
    with open(os.path.join(OUT, "queries.jsonl"), "w") as f:
        for qid, text in QUERIES:
            f.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with open(os.path.join(OUT, "qrels.tsv"), "w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q, c, s in QRELS:
            f.write("%s\t%s\t%d\n" % (q, c, s))
    with open(os.path.join(OUT, "triplets.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["anchor", "positive", "negative"])
        w.writerows(TRIPLETS)

    model = SentenceTransformer(os.path.join(ROOT, "models", "all-MiniLM-L6-v2"), device="cpu")
    # as BEIR / semsearch feed a titled corpus: (title + " " + text).strip()
    corpus = {cid: (title + " " + text).strip() for cid, title, text in CORPUS}
    queries = {qid: text for qid, text in QUERIES}
    rel = {}
    for q, c, s in QRELS:
        if s >= 1:
            rel.setdefault(q, set()).add(c)
    ev = InformationRetrievalEvaluator(queries, corpus, rel, write_csv=False)
    scores = ev.compute_metrices(model)["cos_sim"]
    out = {"ir": {"n_queries": len(ev.queries_ids)}}
    for key in ("accuracy@k", "precision@k", "recall@k"):
        for k, v in scores[key].items():
            out["ir"]["%s%d" % (key[:-1], k)] = float(v)
    out["ir"]["mrr@10"] = float(scores["mrr@k"][10])
    out["ir"]["ndcg@10"] = float(scores["ndcg@k"][10])
    out["ir"]["map@100"] = float(scores["map@k"][100])
    out["ir"]["main_score"] = float(ev(model))
    tev = TripletEvaluator([a for a, _, _ in TRIPLETS], [p for _, p, _ in TRIPLETS], [n for _, _, n in TRIPLETS],
                           write_csv=False)
    # 2.7 returns max(cos, manhattan, euclidean); the three come from the same embeddings
    a = model.encode([t[0] for t in TRIPLETS])
    p = model.encode([t[1] for t in TRIPLETS])
    n = model.encode([t[2] for t in TRIPLETS])
    from sklearn.metrics.pairwise import paired_cosine_distances, paired_euclidean_distances, paired_manhattan_distances
    out["triplet"] = {
        "cosine": float((paired_cosine_distances(a, p) < paired_cosine_distances(a, n)).mean()),
        "manhattan": float((paired_manhattan_distances(a, p) < paired_manhattan_distances(a, n)).mean()),
        "euclidean": float((paired_euclidean_distances(a, p) < paired_euclidean_distances(a, n)).mean()),
        "evaluator": float(tev(model)),
        "rows": len(TRIPLETS),
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
