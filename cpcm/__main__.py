from cpcm.launch import main

main()
