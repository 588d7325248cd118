def main():
    raise SystemExit("the command line is not written yet")
