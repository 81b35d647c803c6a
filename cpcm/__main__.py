from cpcm.cli import main

main()
