from kruispunt.cli import main

main()
