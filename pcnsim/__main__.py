from pcnsim.cli import main

main()
