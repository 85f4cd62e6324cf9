from dltool.cli import main

main()
