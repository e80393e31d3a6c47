"""Seeded generator of short, simple English stories: the training corpus of the default model.

Every sentence comes from templates in this file filled with words from the lists below, so the
corpus is ours (no licence question for the model trained on it) and a few-million-parameter
model can learn its grammar: a few hundred words, consistent pronouns, dialogue in quotes, a
beginning, a problem, its solution and an ending. The text is plain ASCII.

    python3 tools/train/story_generator.py --seed 1 --stories 5
"""

import argparse
import random

GIRLS = ["Lily", "Mia", "Anna", "Sara", "Zoe", "Emma", "Lucy", "Ella", "Rosa", "Nina", "Amy",
         "Kate", "Ivy", "Maya", "Ruby", "Jane"]
BOYS = ["Tom", "Max", "Ben", "Sam", "Leo", "Jack", "Tim", "Finn", "Noah", "Adam", "Dan", "Ravi",
        "Omar", "Paul", "Luke", "Eli"]
ANIMALS = ["dog", "cat", "bird", "rabbit", "fox", "bear", "duck", "frog", "mouse", "owl",
           "turtle", "puppy", "kitten", "horse", "pig", "lion", "squirrel", "goat"]
ANIMAL_NAMES = ["Spot", "Fluffy", "Pip", "Coco", "Bubbles", "Sunny", "Buddy", "Daisy", "Patch",
                "Bella", "Rocky", "Tiny", "Muffin", "Pepper"]
PEOPLE = ["girl", "boy"]
SIZES = ["little", "big", "small", "tiny"]
TRAITS = ["happy", "kind", "brave", "curious", "shy", "funny", "clever", "gentle", "busy",
          "friendly", "quiet", "silly", "lazy", "proud"]
COLORS = ["red", "blue", "green", "yellow", "pink", "purple", "orange", "white", "brown",
          "shiny", "golden"]
PLACES = ["park", "forest", "garden", "beach", "river", "farm", "hill", "lake", "town",
          "meadow", "field", "school", "zoo", "market", "library", "pond"]
HOMES = ["a small house", "a big house", "a little hut", "a cozy home", "a tall tree",
         "an old barn", "a warm nest", "a blue house"]
OBJECTS = ["ball", "kite", "box", "hat", "book", "apple", "cake", "boat", "flower", "stone",
           "shell", "key", "toy", "cup", "bell", "drum", "map", "leaf", "rope", "basket"]
ACTIVITIES = ["play with a ball", "run in the grass", "climb trees", "read books",
              "sing songs", "draw pictures", "dance in the rain", "jump in puddles",
              "look at the stars", "build sand castles", "pick flowers", "swim in the lake",
              "ride a bike", "bake cookies", "fly a kite", "help people", "eat apples",
              "play hide and seek"]
WEATHER = ["The sun was warm and bright.", "It was a cold and windy day.",
           "The sky was blue and clear.", "It was raining a little.",
           "The air was fresh and cool.", "It was a sunny morning.",
           "Big gray clouds filled the sky.", "It was a quiet evening."]
SPOTS = ["under a tree", "near the water", "behind a big rock", "in the tall grass",
         "on top of the hill", "next to the old fence", "in a hole", "by the path"]
FEELINGS = ["happy", "sad", "scared", "excited", "surprised", "tired", "worried", "proud",
            "angry", "glad"]
MORALS = ["it is good to share", "friends help each other", "being kind makes everyone happy",
          "it is important to be brave", "you should always say sorry",
          "hard work pays off", "it is fun to try new things", "you should listen to others",
          "it is good to ask for help", "patience is important"]
ENDINGS = ["From that day on, they were best friends.", "They played together until the sun went down.",
           "Then they went home and had a big dinner.", "Everyone was happy, and they all smiled.",
           "It was the best day ever.", "That night, {name} slept with a big smile.",
           "{name} never forgot that day.", "And they lived happily ever after."]


class Character:
    def __init__(self, rng, animal_ok=True):
        if animal_ok and rng.random() < 0.35:
            self.kind = rng.choice(ANIMALS)
            self.name = rng.choice(ANIMAL_NAMES)
            female = rng.random() < 0.5
        else:
            female = rng.random() < 0.5
            self.kind = "girl" if female else "boy"
            self.name = rng.choice(GIRLS if female else BOYS)
        self.he, self.him, self.his = ("she", "her", "her") if female else ("he", "him", "his")
        self.He = self.he.capitalize()
        self.His = self.his.capitalize()
        self.trait = rng.choice(TRAITS)
        self.size = rng.choice(SIZES)


def a(word):
    return ("an " if word[0] in "aeiou" else "a ") + word


def intro(rng, c):
    opener = rng.choice(["Once upon a time, there was", "One day, there was",
                         "Long ago, there was", "There once was"])
    desc = rng.choice([f"{c.size} {c.kind}", f"{c.trait} {c.kind}", f"{c.size} {c.trait} {c.kind}"])
    s = [f"{opener} {a(desc)} named {c.name}."]
    s.append(f"{c.He} lived in {rng.choice(HOMES)} near the {rng.choice(PLACES)}.")
    acts = rng.sample(ACTIVITIES, 2)
    s.append(rng.choice([f"{c.name} liked to {acts[0]}.",
                         f"{c.name} loved to {acts[0]} and {acts[1]}.",
                         f"Every day, {c.name} liked to {acts[0]}."]))
    return s


def journey(rng, c, f, place):
    s = [rng.choice([f"One day, {c.name} went to the {place} with {c.his} friend {f.name}.",
                     f"One morning, {c.name} and {f.name} walked to the {place}.",
                     f"One day, {c.name} met {a(f.kind)} named {f.name} at the {place}."])]
    s.append(rng.choice(WEATHER))
    return s


def quote(speaker, text, rng):
    if text.endswith("?"):
        verb = "asked"
    elif text.endswith("!"):
        verb = rng.choice(["said", "shouted", "cried"])
    else:
        verb = rng.choice(["said", "said", "replied"])
    if rng.random() < 0.5:
        if text.endswith("."):
            text = text[:-1] + ","
        return f"\"{text}\" {verb} {speaker}."
    return f"{speaker} {verb}, \"{text}\""


def problem_lost(rng, c, f, place):
    obj = rng.choice(OBJECTS)
    color = rng.choice(COLORS)
    spot = rng.choice(SPOTS)
    s = [f"{c.name} had {a(color)} {obj}. {c.He} loved {c.his} {obj} very much.",
         f"But when they were playing, the {obj} was gone!",
         f"{c.name} felt {rng.choice(['sad', 'worried', 'scared'])}.",
         quote(c.name, f"Where is my {obj}?", rng),
         quote(f.name, rng.choice(["Do not worry. I will help you find it.",
                                   "Let us look for it together.", "We can find it!"]), rng),
         f"They looked everywhere. They looked {rng.choice(SPOTS)} and {rng.choice(SPOTS)}.",
         f"At last, {f.name} found the {obj} {spot}.",
         quote(c.name, rng.choice(["Thank you!", "You found it!", "You are a good friend!"]), rng),
         f"{c.name} gave {f.name} a big hug."]
    return s


def problem_stuck(rng, c, f, place):
    obj = rng.choice(["kite", "ball", "hat", "toy"])
    s = [f"{c.name} and {f.name} played with {a(rng.choice(COLORS))} {obj}.",
         f"Then the wind blew hard, and the {obj} got stuck in a tall tree.",
         quote(f.name, f"Oh no! How can we get the {obj} down?", rng),
         f"{c.name} thought and thought. Then {c.he} had an idea.",
         rng.choice([f"{c.He} found a long stick and pushed the {obj} out of the tree.",
                     f"{c.He} asked a tall man for help, and the man took the {obj} down.",
                     f"{c.He} climbed the tree very slowly and got the {obj}."]),
         f"The {obj} fell down, and {f.name} caught it.",
         quote(f.name, rng.choice(["You are so clever!", "Hooray! We did it!", "Thank you so much!"]), rng),
         f"{c.name} felt very {rng.choice(['proud', 'happy', 'glad'])}."]
    return s


def problem_share(rng, c, f, place):
    food = rng.choice(["apple", "cake", "cookie", "sandwich", "pie", "banana"])
    s = [f"{c.name} had a big {food}. {f.name} did not have any food.",
         f"{f.name} was hungry and looked at the {food}.",
         quote(f.name, f"Can I have some of your {food}, please?", rng),
         rng.choice([f"At first, {c.name} did not want to share.",
                     f"{c.name} looked at the {food} and thought for a moment."]),
         f"Then {c.he} saw that {f.name} was {rng.choice(['sad', 'very hungry', 'tired'])}.",
         quote(c.name, rng.choice([f"Here, you can have half.", "Yes, let us share it.",
                                   "Of course! Friends share."]), rng),
         f"{c.name} broke the {food} in two and gave one part to {f.name}.",
         f"They ate the {food} together {rng.choice(SPOTS)}.",
         quote(f.name, rng.choice(["This is so good!", "Thank you, you are very kind.",
                                   "Yum! I like sharing with you."]), rng)]
    return s


def problem_scared(rng, c, f, place):
    thing = rng.choice(["a loud noise", "a big shadow", "a strange sound", "two bright eyes"])
    what = rng.choice(["a little owl", "a small puppy", "a friendly frog", "an old cat",
                       "a baby bird"])
    s = [f"When it got dark, {c.name} heard {thing} {rng.choice(SPOTS)}.",
         f"{c.name} was scared. {c.His} hands were shaking.",
         quote(c.name, "What is that? I want to go home!", rng),
         quote(f.name, rng.choice(["Let us be brave and look.", "Do not be scared. I am here.",
                                   "Stay close to me."]), rng),
         f"They walked slowly and looked. It was only {what}!",
         f"The {what.split()[-1]} was lost and {rng.choice(['cold', 'hungry', 'alone'])}.",
         f"{c.name} was not scared anymore. {c.He} smiled and helped the {what.split()[-1]} find its home.",
         quote(f.name, "See? You were very brave.", rng)]
    return s


def problem_race(rng, c, f, place):
    goal = rng.choice(["the big tree", "the old fence", "the red door", "the top of the hill"])
    s = [quote(f.name, f"Let us have a race to {goal}!", rng),
         quote(c.name, rng.choice(["Yes! I am very fast.", "Okay, I will try.", "Ready, set, go!"]), rng),
         f"They ran as fast as they could. {f.name} was in front.",
         f"But then {f.name} fell down and hurt {f.his} knee.",
         f"{c.name} stopped running and went back to help {f.him}.",
         quote(c.name, "Are you okay? Let me help you up.", rng),
         f"{f.name} smiled. They walked to {goal} together, side by side.",
         quote(f.name, rng.choice(["You are a true friend.", "Thank you for coming back.",
                                   "Winning is not important. Friends are."]), rng)]
    return s


PROBLEMS = [problem_lost, problem_stuck, problem_share, problem_scared, problem_race]


def story(rng):
    c = Character(rng)
    f = Character(rng)
    while f.name == c.name:
        f = Character(rng)
    place = rng.choice(PLACES)
    s = intro(rng, c) + journey(rng, c, f, place) + rng.choice(PROBLEMS)(rng, c, f, place)
    ending = rng.choice(ENDINGS).format(name=c.name)
    if rng.random() < 0.4:
        ending += f" {c.name} learned that {rng.choice(MORALS)}."
    s.append(ending)
    # Two or three paragraphs.
    cut1 = 3
    cut2 = rng.randint(cut1 + 3, len(s) - 1)
    paras = [s[:cut1], s[cut1:cut2], s[cut2:]]
    return "\n".join(" ".join(p) for p in paras if p)


def generate(seed, n):
    """The first n stories of the stream for `seed`, separated by blank lines."""
    rng = random.Random(seed)
    return "\n\n".join(story(rng) for _ in range(n)) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--stories", type=int, default=3)
    args = p.parse_args()
    print(generate(args.seed, args.stories), end="")


if __name__ == "__main__":
    main()
